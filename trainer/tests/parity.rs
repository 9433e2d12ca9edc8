//! Parity with PyTorch: `trainer/scripts/reference_train.py` trains
//! Hugging Face's GPT2LMHeadModel from our initial checkpoint on our
//! batches and learning rates; both loss curves must agree for 20 steps.
//!
//! Tolerance: 2e-4 nats per step, absolute (f32, CPU, one thread). Both
//! sides run the same libtorch kernels on the same inputs; what differs is
//! the order of a few floating-point operations (HF's Conv1D is `addmm` on
//! the transposed weight, our AdamW scales before `addcdiv`), worth ~1e-7
//! relative per operation. Adam divides each update by a running gradient
//! RMS, so such differences do not blow up over 20 steps; observed
//! differences are around 1e-6, and a real bug (a wrong bias correction, a
//! missing weight-decay exclusion, an off-by-one in the targets) moves the
//! curve by 1e-2 or more within a few steps.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use logitloom_trainer::data::train_batch;
use logitloom_trainer::schedule::learning_rate;
use logitloom_trainer::{train, TrainOptions};
use tch::Device;

const STEPS: usize = 20;
const TOLERANCE: f64 = 2e-4;

fn venv_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    logitloom_build_support::prerequisite::project_python(&root, "import torch, transformers")
}

#[test]
fn loss_curve_matches_pytorch_for_20_steps() {
    let Some(python) = venv_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::prepare_corpus(&data);
    let run = dir.path().join("run");
    let config = common::tiny_config(&data, &run, STEPS);

    // Step 0: write the initial weights, then keep a copy for PyTorch.
    let mut init = TrainOptions::new(config.clone(), "tiny.toml".into(), String::new());
    init.stop_after_steps = Some(0);
    train(&init).unwrap();
    let init_dir = dir.path().join("init");
    std::fs::create_dir(&init_dir).unwrap();
    for entry in std::fs::read_dir(run.join("last")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, init_dir.join(path.file_name().unwrap())).unwrap();
    }
    let mut ours = TrainOptions::new(config.clone(), "tiny.toml".into(), String::new());
    ours.resume = true;
    let our_losses = train(&ours).unwrap().train_losses;

    let train_tokens = logitloom_trainer::tokens::read_tokens(&data.join("train.bin"), common::TEST_VOCAB).unwrap();
    let (t, b, seed) = (config.model.block_size, config.train.batch_size, config.train.seed);
    let mut inputs = Vec::new();
    let mut targets = Vec::new();
    let mut lrs = Vec::new();
    for step in 0..STEPS {
        let (x, y) = train_batch(&train_tokens, t, b, seed, step, 0, Device::Cpu);
        inputs.push(Vec::<i64>::try_from(x.flatten(0, -1)).unwrap());
        targets.push(Vec::<i64>::try_from(y.flatten(0, -1)).unwrap());
        let o = &config.optim;
        lrs.push(learning_rate(step, o.lr, o.min_lr, o.warmup_steps, config.decay_steps()));
    }
    let o = &config.optim;
    let spec = serde_json::json!({
        "block_size": t, "batch_size": b, "lr": lrs, "inputs": inputs, "targets": targets,
        "beta1": o.beta1, "beta2": o.beta2, "eps": o.eps, "weight_decay": o.weight_decay, "grad_clip": o.grad_clip,
    });
    let batches = dir.path().join("batches.json");
    std::fs::write(&batches, spec.to_string()).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/reference_train.py");
    let output =
        Command::new(python).arg(script).arg(&init_dir).arg(&batches).args(["--threads", "1"]).output().unwrap();
    assert!(output.status.success(), "reference failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let reply: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let reference: Vec<f64> = reply["losses"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();

    assert_eq!(our_losses.len(), STEPS);
    let mut worst: f64 = 0.0;
    for (step, (ours, theirs)) in our_losses.iter().zip(&reference).enumerate() {
        let diff = (ours - theirs).abs();
        worst = worst.max(diff);
        assert!(diff <= TOLERANCE, "step {step}: ours {ours}, PyTorch {theirs} (|diff| {diff:.2e} > {TOLERANCE:.0e})");
    }
    // The curve must actually move, or agreement would prove nothing.
    assert!(reference[STEPS - 1] < reference[0] - 0.5, "reference loss barely moved: {reference:?}");
    eprintln!("max |loss difference| over {STEPS} steps: {worst:.2e}");
}
