//! Tokens/s of our training step against the PyTorch reference
//! (`trainer/scripts/reference_train.py`), same model, same initial weights,
//! same batches, same thread count, in one run.
//!
//! ```text
//! ./dev.sh cargo run --release -p logitloom-trainer --example cpu_step_bench -- DATA_DIR [STEPS] [THREADS] [PRESET] [BATCH] [BLOCK]
//! ```
//! DATA_DIR is a `logitloom prepare` output (e.g. data/jdk-base). Prints a
//! Markdown table row for docs/performance.md.

use std::path::Path;
use std::process::Command;

use logitloom_trainer::data::train_batch;
use logitloom_trainer::log::{read_log, LogRecord};
use logitloom_trainer::{train, TrainConfig, TrainOptions};
use tch::Device;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data = args.first().expect("usage: cpu_step_bench DATA_DIR [STEPS] [THREADS] [PRESET] [BATCH] [BLOCK]");
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let steps: usize = arg(1, "10").parse().expect("STEPS");
    let threads: usize = arg(2, "1").parse().expect("THREADS");
    let preset = arg(3, "small");
    let batch: usize = arg(4, "8").parse().expect("BATCH");
    let block: usize = arg(5, "256").parse().expect("BLOCK");

    let dir = tempfile::tempdir().expect("temp dir");
    let run = dir.path().join("run");
    let text = format!(
        "[data]\ndir = \"{data}\"\n[model]\npreset = \"{preset}\"\nblock_size = {block}\n[optim]\nwarmup_steps = 0\n\
         [train]\nmax_steps = {}\nbatch_size = {batch}\ndevice = \"cpu\"\nthreads = {threads}\n[eval]\ninterval = 1000000\niters = 1\n[out]\ndir = \"{}\"\n",
        steps + 1,
        run.display()
    );
    let config = TrainConfig::parse(&text, Path::new("bench.toml")).expect("bench config");

    // Initial weights for both sides.
    let mut init = TrainOptions::new(config.clone(), "bench.toml".into(), text.clone());
    init.stop_after_steps = Some(0);
    train(&init).expect("initial checkpoint");
    let init_dir = dir.path().join("init");
    std::fs::create_dir(&init_dir).unwrap();
    for entry in std::fs::read_dir(run.join("last")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, init_dir.join(path.file_name().unwrap())).unwrap();
    }

    let mut ours = TrainOptions::new(config.clone(), "bench.toml".into(), text);
    ours.resume = true;
    train(&ours).expect("our run");
    // Step 1 warms up allocators and kernels; the rest are timed.
    let mut rates: Vec<f64> = read_log(&run.join("log.jsonl"))
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            LogRecord::Train { step, tokens_per_sec, .. } if step > 1 => Some(tokens_per_sec),
            _ => None,
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let seconds_per_token: f64 = rates.iter().map(|r| 1.0 / r).sum::<f64>() / rates.len() as f64;
    let ours_rate = 1.0 / seconds_per_token;

    let tokens = logitloom_trainer::tokens::read_tokens(&Path::new(data).join("train.bin"), 1 << 20).unwrap();
    let (mut inputs, mut targets) = (Vec::new(), Vec::new());
    for step in 0..=steps {
        let (x, y) = train_batch(&tokens, block, batch, config.train.seed, step, 0, Device::Cpu);
        inputs.push(Vec::<i64>::try_from(x.flatten(0, -1)).unwrap());
        targets.push(Vec::<i64>::try_from(y.flatten(0, -1)).unwrap());
    }
    let o = &config.optim;
    let spec = serde_json::json!({
        "block_size": block, "batch_size": batch, "lr": vec![o.lr; steps + 1], "inputs": inputs, "targets": targets,
        "beta1": o.beta1, "beta2": o.beta2, "eps": o.eps, "weight_decay": o.weight_decay, "grad_clip": o.grad_clip,
    });
    let batches = dir.path().join("batches.json");
    std::fs::write(&batches, spec.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/reference_train.py");
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let output = Command::new(python)
        .arg(script)
        .arg(&init_dir)
        .arg(&batches)
        .args(["--threads", &threads.to_string(), "--bench", &steps.to_string()])
        .output()
        .expect("run the reference");
    assert!(output.status.success(), "reference failed: {}", String::from_utf8_lossy(&output.stderr));
    let reply: serde_json::Value =
        serde_json::from_str(String::from_utf8(output.stdout).unwrap().lines().last().unwrap()).unwrap();
    let theirs = reply["tokens_per_sec"].as_f64().unwrap();
    println!("| model | batch x block | threads | steps | logitloom tok/s | PyTorch tok/s | ratio |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {preset} | {batch} x {block} | {threads} | {steps} | {ours_rate:.0} | {theirs:.0} | {:.2}x |",
        ours_rate / theirs
    );
}
