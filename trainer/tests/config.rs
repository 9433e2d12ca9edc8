//! Config errors name the key at fault.

use std::path::Path;

use logitloom_trainer::TrainConfig;

const VALID: &str = r#"
[data]
dir = "data/x"
[model]
preset = "tiny"
[train]
max_steps = 100
device = "cpu"
[out]
dir = "runs/x"
"#;

fn error(text: &str) -> String {
    TrainConfig::parse(text, Path::new("c.toml")).unwrap_err().to_string()
}

#[test]
fn a_minimal_config_gets_the_documented_defaults() {
    let c = TrainConfig::parse(VALID, Path::new("c.toml")).unwrap();
    assert_eq!((c.model.block_size, c.train.batch_size, c.train.grad_accum, c.eval.interval), (256, 16, 1, 100));
    assert_eq!((c.optim.lr, c.optim.weight_decay, c.optim.beta2), (6e-4, 0.1, 0.95));
    assert_eq!(c.decay_steps(), 100);
    assert_eq!(c.tokens_per_step(), 16 * 256);
    let model = c.model_config(300, 299, Path::new("c.toml")).unwrap();
    assert_eq!(
        (model.n_layer, model.n_head, model.n_embd, model.n_positions, model.eos_token_id),
        (2, 2, 32, 256, 299)
    );
}

#[test]
fn unknown_key_is_named_with_its_table() {
    let text = VALID.replace("max_steps = 100", "max_steps = 100\nlearning_rate = 0.1");
    let message = error(&text);
    assert!(
        message.starts_with("config c.toml: line 8, key `train.learning_rate`: unknown field `learning_rate`"),
        "{message}"
    );
}

#[test]
fn wrong_type_is_named_with_its_table() {
    let text = VALID.replace("max_steps = 100", "max_steps = \"many\"");
    let message = error(&text);
    assert!(
        message.starts_with("config c.toml: line 7, key `train.max_steps`: invalid type: string \"many\""),
        "{message}"
    );
}

#[test]
fn out_of_range_values_are_named() {
    let cases = [
        (
            "[model]\npreset = \"tiny\"",
            "[model]\npreset = \"tiny\"\ndropout = 1.5",
            "key `model.dropout` = 1.5: must be in [0, 1)",
        ),
        ("max_steps = 100", "max_steps = 0", "key `train.max_steps` = 0: must be at least 1"),
        (
            "[model]\npreset = \"tiny\"",
            "[model]\npreset = \"tiny\"\nn_head = 5",
            "key `model.n_head` = 5: must divide model.n_embd (32)",
        ),
        (
            "[model]\npreset = \"tiny\"",
            "[model]\npreset = \"huge\"",
            "key `model.preset` = \"huge\": unknown model preset `huge` (known: gpt2, gpt2-medium, small, tiny)",
        ),
        (
            "device = \"cpu\"",
            "device = \"tpu\"",
            "key `train.device` = \"tpu\": unknown device `tpu` (expected auto, cpu, cuda or cuda:N)",
        ),
        (
            "device = \"cpu\"",
            "device = \"cpu\"\ndtype = \"bf16\"",
            "key `train.dtype` = \"bf16\": bf16 autocast needs a CUDA device; use \"f32\" on the CPU",
        ),
        ("[out]", "[optim]\nlr = 1e-3\nmin_lr = 1e-2\n[out]", "key `optim.min_lr` = 0.01: must be in [0, optim.lr]"),
        (
            "[out]",
            "[optim]\nwarmup_steps = 500\n[out]",
            "key `optim.warmup_steps` = 500: must not exceed the decay steps (optim.decay_steps or train.max_steps)",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(VALID.contains(from), "{from}");
        assert_eq!(error(&VALID.replacen(from, to, 1)), format!("config c.toml: {expected}"));
    }
}

#[test]
fn a_model_needs_a_preset_or_all_sizes() {
    let text = VALID.replace("preset = \"tiny\"", "n_layer = 2\nn_head = 2");
    assert_eq!(error(&text), "config c.toml: key `model.n_embd` = missing: set it, or set model.preset");
}
