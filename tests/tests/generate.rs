//! `logitloom generate` end to end.

use logitloom_e2e_tests::*;

fn gen(extra: &[&str]) -> std::process::Output {
    gen_on("cpu", extra)
}

fn gen_on(device: &str, extra: &[&str]) -> std::process::Output {
    let model = tiny_model();
    let mut args = vec![
        "generate",
        "--model",
        model.to_str().unwrap(),
        "--device",
        device,
        "--prompt",
        "public class Node {",
        "--max-new-tokens",
        "40",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn same_seed_same_text_and_timing_on_stderr() {
    let a = gen(&["--seed", "7", "--ignore-eos"]);
    let b = gen(&["--seed", "7", "--ignore-eos"]);
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(stdout(&a), stdout(&b));
    assert!(!stdout(&a).trim().is_empty());
    let err = stderr(&a);
    assert!(err.contains("prefill:") && err.contains("tokens/s") && err.contains("device cpu"), "{err}");
    // Different seeds give different text (40 random-model tokens colliding is vanishingly unlikely).
    let c = gen(&["--seed", "8", "--ignore-eos"]);
    assert_ne!(stdout(&a), stdout(&c));
}

#[test]
fn greedy_chain_is_deterministic_regardless_of_seed() {
    let chain = repo().join("configs/greedy.toml");
    let a = gen(&["--chain", chain.to_str().unwrap(), "--seed", "1"]);
    let b = gen(&["--chain", chain.to_str().unwrap(), "--seed", "2"]);
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(stdout(&a), stdout(&b));
}

#[test]
fn batch_prints_every_sequence() {
    let o = gen(&["--batch", "3", "--seed", "5", "--ignore-eos"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for i in 0..3 {
        assert!(out.contains(&format!("===== sequence {i} (seed {}) =====", 5 + i)), "{out}");
    }
}

#[test]
fn missing_model_directory_is_one_clear_line() {
    let o = run(&["generate", "--model", "/nonexistent/model", "--device", "cpu", "--prompt", "x"]);
    assert_eq!(assert_clean_failure(&o), "error: model directory /nonexistent/model does not exist");
}

fn broken_copy_of_tiny_model(edit: impl Fn(&mut serde_json::Value)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["model.safetensors", "tokenizer.json"] {
        std::fs::copy(tiny_model().join(f), dir.path().join(f)).unwrap();
    }
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tiny_model().join("config.json")).unwrap()).unwrap();
    edit(&mut config);
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    dir
}

#[test]
fn malformed_config_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "{\"n_layer\": 3,").unwrap();
    let o = run(&["generate", "--model", dir.path().to_str().unwrap(), "--device", "cpu", "--prompt", "x"]);
    let line = assert_clean_failure(&o);
    assert!(line.starts_with(&format!("error: invalid model config: {}/config.json:", dir.path().display())), "{line}");
}

#[test]
fn tensor_of_the_wrong_shape_names_tensor_and_both_shapes() {
    let dir = broken_copy_of_tiny_model(|c| c["vocab_size"] = 301.into());
    let o = run(&["generate", "--model", dir.path().to_str().unwrap(), "--device", "cpu", "--prompt", "x"]);
    let line = assert_clean_failure(&o);
    assert_eq!(
        line,
        format!(
            "error: {}/model.safetensors: tensor `transformer.wte.weight` has shape [300, 48], expected [301, 48]",
            dir.path().display()
        )
    );
}

#[test]
fn prompt_longer_than_the_context_is_refused() {
    let long_prompt = "int x = 0;\n".repeat(200);
    let model = tiny_model();
    let o = run(&["generate", "--model", model.to_str().unwrap(), "--device", "cpu", "--prompt", &long_prompt]);
    let line = assert_clean_failure(&o);
    assert!(line.starts_with("error: prompt 0 is ") && line.contains("the model's context holds 96"), "{line}");
}

#[test]
fn unknown_device_and_missing_cuda_are_refused() {
    let o = gen_on("tpu", &[]);
    assert_eq!(assert_clean_failure(&o), "error: unknown device `tpu` (expected auto, cpu, cuda or cuda:N)");
    let probe = gen_on("cuda", &[]);
    if !probe.status.success() {
        assert_eq!(
            assert_clean_failure(&probe),
            "error: device `cuda` was requested but this libtorch sees no CUDA/ROCm device"
        );
    }
}

#[test]
fn trace_records_entropy_observations() {
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("chain.toml");
    std::fs::write(&chain, "[[stage]]\nplugin = \"top_k\"\nk = 20\n\n[[stage]]\nplugin = \"entropy_logger\"\n\n[[stage]]\nplugin = \"multinomial\"\n").unwrap();
    let trace = dir.path().join("trace.jsonl");
    let o = gen(&["--chain", chain.to_str().unwrap(), "--trace", trace.to_str().unwrap(), "--ignore-eos"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&trace).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 40, "one entropy record per generated token");
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["stage"], "entropy_logger");
        assert_eq!(l["step"], i);
        let before = l["record"]["entropy_before"].as_f64().unwrap();
        let after = l["record"]["entropy_after"].as_f64().unwrap();
        // top-k 20 can only lower entropy, and never below 0 or above ln(20).
        assert!(after <= before + 1e-6 && after >= 0.0 && after <= (20f64).ln() + 1e-6, "{l}");
    }
}
