//! `trainer/scripts/ddp_train.py` under `torchrun` with the gloo backend on
//! the CPU: two ranks give the loss of one process over the same global
//! batch, the batches are logitloom's, and the model directory it writes
//! loads in logitloom and scores like `transformers`.
//!
//! Needs the project's `.venv` (torch, transformers). Without it the test is
//! skipped, except under `CI=true`, where a missing prerequisite fails.
//!
//! Tolerances, 1e-4 in both checks: f32 on one thread per rank; what differs
//! between one and two ranks is the order in which gloo sums the two halves'
//! gradients (~1e-7 relative), and between logitloom and transformers the
//! order of a few operations in attention and the MLP.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use logitloom_engine::hf::load_model_dir;
use logitloom_engine::score::score_tokens;
use logitloom_trainer::data::{derive_seed, window_starts, TRAIN_STREAM};
use tch::{Device, Kind};

const STEPS: usize = 5;
const TOLERANCE: f64 = 1e-4;

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

/// The venv's python when it has torch (with gloo) and transformers.
fn venv_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let probe = "import torch, transformers, torch.distributed as d; assert d.is_available() and d.is_gloo_available()";
    logitloom_build_support::prerequisite::project_python(&root, probe)
}

fn run(command: &mut Command) -> String {
    let output = command.env("OMP_NUM_THREADS", "1").env("PYTHONUNBUFFERED", "1").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{command:?} failed:\n{}\n{stderr}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8(output.stdout).unwrap()
}

fn train_losses(run_dir: &Path) -> Vec<f64> {
    std::fs::read_to_string(run_dir.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["event"] == "train")
        .map(|r| r["loss"].as_f64().unwrap())
        .collect()
}

#[test]
fn two_gloo_ranks_match_one_process_and_the_model_loads_in_logitloom() {
    let Some(python) = venv_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let meta = common::prepare_corpus(&data);
    // Global batch 8 windows: one process takes them as 2 micro-batches of 4,
    // each of two ranks takes 4.
    let config = dir.path().join("ddp.toml");
    std::fs::write(
        &config,
        format!(
            "[data]\ndir = \"{}\"\n[model]\nn_layer = 2\nn_head = 2\nn_embd = 32\nblock_size = 32\n[optim]\nlr = 1e-2\nmin_lr = 1e-3\nwarmup_steps = 2\n\
             [train]\nmax_steps = {STEPS}\nbatch_size = 4\ngrad_accum = 2\nseed = 7\ndevice = \"cpu\"\nthreads = 1\n[eval]\ninterval = {STEPS}\niters = 2\n[out]\ndir = \"{}\"\n",
            data.display(),
            dir.path().join("unused").display()
        ),
    )
    .unwrap();
    let script = scripts().join("ddp_train.py");
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    run(Command::new(&python).arg(&script).arg("--config").arg(&config).arg("--out").arg(&one));
    run(Command::new(&python)
        .args(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"])
        .arg(&script)
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&two));

    let (single, ranks) = (train_losses(&one), train_losses(&two));
    assert_eq!((single.len(), ranks.len()), (STEPS, STEPS));
    for (step, (a, b)) in single.iter().zip(&ranks).enumerate() {
        assert!((a - b).abs() <= TOLERANCE, "step {step}: one process {a}, two ranks {b}");
    }
    // Agreement means something only if training moved the loss.
    assert!(single[STEPS - 1] < single[0] - 0.3, "loss barely moved: {single:?}");

    // The script draws logitloom's batches: same generator, same seeds.
    let train_len = meta.train.tokens;
    let probe = format!(
        "import sys; sys.path.insert(0, {:?}); from ddp_train import window_starts, derive_seed\n\
         print([window_starts({train_len}, 32, 4, derive_seed([7, 1, s, m])) for s in range(3) for m in range(2)])",
        scripts().display().to_string()
    );
    let theirs = run(Command::new(&python).args(["-c", &probe]));
    let ours: Vec<Vec<usize>> = (0..3)
        .flat_map(|s| (0..2).map(move |m| window_starts(train_len, 32, 4, derive_seed(&[7, TRAIN_STREAM, s, m]))))
        .collect();
    assert_eq!(theirs.trim(), format!("{ours:?}"));

    // The model directory loads in logitloom and scores like transformers.
    let model_dir = two.join("last");
    let (_, _vs, gpt) = load_model_dir(&model_dir, Device::Cpu, Kind::Float).unwrap();
    let tokenizer = tokenizers::Tokenizer::from_file(model_dir.join("tokenizer.json")).unwrap();
    let text = std::fs::read_to_string(common::corpus_dir().join("Stack.java")).unwrap();
    let ids: Vec<u32> = tokenizer.encode(text.as_str(), false).unwrap().get_ids()[..30].to_vec();
    let ours: Vec<f64> = score_tokens(&gpt, &ids).unwrap().iter().map(|s| s.logprob).collect();
    let probe = format!(
        "import json, torch; from transformers import GPT2LMHeadModel\n\
         m = GPT2LMHeadModel.from_pretrained({:?}, dtype=torch.float32).eval(); ids = torch.tensor([{ids:?}])\n\
         with torch.no_grad(): lp = m(ids).logits.log_softmax(-1)[0]\n\
         print(json.dumps([lp[i - 1, t].item() for i, t in enumerate(ids[0].tolist()) if i > 0]))",
        model_dir.display().to_string()
    );
    let theirs: Vec<f64> = serde_json::from_str(run(Command::new(&python).args(["-c", &probe])).trim()).unwrap();
    assert_eq!(ours.len(), ids.len() - 1);
    assert_eq!(theirs.len(), ours.len());
    let worst = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst <= TOLERANCE, "logitloom and transformers differ by up to {worst:.2e}: {ours:?} vs {theirs:?}");
    eprintln!("two ranks vs one process: max |loss difference| {:.2e}; logitloom vs transformers: max |logprob difference| {worst:.2e}", single.iter().zip(&ranks).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max));
}

#[test]
fn tokenize_text_py_writes_the_token_files_prepare_writes() {
    let Some(python) = venv_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let mut names: Vec<_> = std::fs::read_dir(common::corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "java"))
        .collect();
    names.sort();
    for (i, path) in names.iter().enumerate() {
        let project = if i % 5 == 0 { "held" } else { "main" };
        std::fs::create_dir_all(src.join(project)).unwrap();
        std::fs::copy(path, src.join(project).join(path.file_name().unwrap())).unwrap();
    }
    let manifest = dir.path().join("manifest.jsonl");
    std::fs::write(&manifest, "{\"package\": \"held\", \"split\": \"heldout\"}\n").unwrap();
    let prepared = dir.path().join("prepared");
    let options = logitloom_trainer::ProjectPrepareOptions {
        input: src,
        manifest: Some(manifest),
        test_inputs: vec![],
        out_dir: prepared.clone(),
        vocab_size: 400,
        tokenizer: None,
        val_fraction: 0.0,
        strip_license_headers: true,
        max_file_bytes: 100_000,
        near_dup_threshold: 0.8,
        tokenizer_sample_bytes: 1 << 30,
        export_text: true,
        show_progress: false,
    };
    logitloom_trainer::prepare_projects(&options).unwrap();
    let out = dir.path().join("retokenized");
    run(Command::new(&python)
        .arg(scripts().join("tokenize_text.py"))
        .arg(&prepared)
        .arg(&out)
        .args(["--threads", "1"]));
    for name in ["train.bin", "val.bin"] {
        let (a, b) = (std::fs::read(prepared.join(name)).unwrap(), std::fs::read(out.join(name)).unwrap());
        assert!(a.len() > 100, "{name} is nearly empty");
        assert!(a == b, "{name}: tokenize_text.py wrote {} bytes that differ from prepare's {}", b.len(), a.len());
    }
}
