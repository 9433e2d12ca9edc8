//! Parity with Hugging Face `transformers` on a small random GPT-2.
//!
//! `golden/` was written by `engine/scripts/make_golden.py`. We check the
//! committed logits, and — whenever the project's Python with
//! `transformers` is there, as it is after `./dev.sh setup` — regenerate
//! them into a temporary directory and check those too, so the script and
//! the committed files cannot drift apart.

use std::path::{Path, PathBuf};
use std::process::Command;

use logitloom_engine::hf;
use tch::{Device, Kind, Tensor};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn read_golden(dir: &Path) -> (Tensor, Tensor) {
    let tensors = Tensor::read_safetensors(dir.join("logits.safetensors")).unwrap();
    let get = |n: &str| tensors.iter().find(|(k, _)| k == n).unwrap().1.shallow_clone();
    (get("input_ids"), get("logits"))
}

fn max_abs_diff_of_our_logits(dir: &Path) -> f64 {
    let (_, _, gpt) = hf::load_model_dir(&dir.join("tiny-gpt2"), Device::Cpu, Kind::Float).unwrap();
    let (ids, expected) = read_golden(dir);
    let ours = tch::no_grad(|| gpt.forward_train(&ids, false));
    assert_eq!(ours.size(), expected.size());
    (ours - expected).abs().max().double_value(&[])
}

#[test]
fn logits_match_committed_golden_files() {
    let diff = max_abs_diff_of_our_logits(&golden_dir());
    assert!(diff < 1e-4, "max |ours - transformers| = {diff}");
}

fn project_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    logitloom_build_support::prerequisite::project_python(&root, "import torch, transformers, tokenizers")
}

#[test]
fn regenerated_golden_files_match_committed_ones_and_ours() {
    let Some(python) = project_python() else { return };
    let out = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make_golden.py");
    let status = Command::new(python).arg(script).arg(out.path()).output().unwrap();
    assert!(status.status.success(), "make_golden.py failed: {}", String::from_utf8_lossy(&status.stderr));
    let (ids_new, logits_new) = read_golden(out.path());
    let (ids_old, logits_old) = read_golden(&golden_dir());
    assert!(ids_new.equal(&ids_old), "regenerated inputs differ: the tokenizer training drifted");
    let drift = (logits_new - logits_old).abs().max().double_value(&[]);
    assert!(drift < 1e-6, "regenerated logits differ from committed ones by {drift}");
    let diff = max_abs_diff_of_our_logits(out.path());
    assert!(diff < 1e-4, "max |ours - transformers| = {diff}");
}

#[test]
fn saved_directory_reloads_identically_and_in_transformers_layout() {
    let (config, vs, gpt) = hf::load_model_dir(&golden_dir().join("tiny-gpt2"), Device::Cpu, Kind::Float).unwrap();
    let out = tempfile::tempdir().unwrap();
    let tokenizer = std::fs::read(golden_dir().join("tiny-gpt2/tokenizer.json")).unwrap();
    hf::save_model_dir(out.path(), &config, &vs, &tokenizer, Kind::Float).unwrap();
    let (_, _, reloaded) = hf::load_model_dir(out.path(), Device::Cpu, Kind::Float).unwrap();
    let (ids, _) = read_golden(&golden_dir());
    let a = tch::no_grad(|| gpt.forward_train(&ids, false));
    let b = tch::no_grad(|| reloaded.forward_train(&ids, false));
    assert!(a.equal(&b), "a save/load round trip changed the logits");
    // transformers' loader needs the `pt` format tag and Conv1D orientation.
    let names: Vec<String> = Tensor::read_safetensors(out.path().join("model.safetensors"))
        .unwrap()
        .into_iter()
        .map(|(n, t)| {
            if n == "h.0.attn.c_attn.weight" {
                assert_eq!(t.size(), vec![48, 144], "Conv1D weights are stored [in, out]");
            }
            n
        })
        .collect();
    assert!(names.contains(&"wte.weight".to_string()) && !names.iter().any(|n| n.starts_with("lm_head")));
}
