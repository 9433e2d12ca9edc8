//! Decode-speed probe used by `bench/scripts/decode_vs_hf.py`: loads a
//! model directory (no tokenizer needed), generates greedily through the
//! standard `greedy` chain from fixed prompt ids, and prints one JSON line.
//!
//!     cargo run --release -p logitloom-runtime --example decode_bench -- \
//!         MODEL_DIR --batch 1 --dtype f32 --prompt-len 32 --new-tokens 128 --device cpu

use std::time::Instant;

use logitloom_engine::generate::{generate, ContextOverflow, GenerateOptions, SequenceSampler};
use logitloom_engine::{hf, parse_device, parse_dtype};
use logitloom_plugin_host::{ChainSpec, HostOptions, SequenceSetup, StageSpec};
use logitloom_runtime::ChainSampler;

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(&args[1]);
    let batch: usize = arg(&args, "--batch", "1").parse().unwrap();
    let prompt_len: usize = arg(&args, "--prompt-len", "32").parse().unwrap();
    let new_tokens: usize = arg(&args, "--new-tokens", "128").parse().unwrap();
    let repeats: usize = arg(&args, "--repeats", "3").parse().unwrap();
    let threads: i32 = arg(&args, "--threads", "0").parse().unwrap();
    if threads > 0 {
        tch::set_num_threads(threads);
    }
    let device = parse_device(&arg(&args, "--device", "cpu")).unwrap();
    let kind = parse_dtype(&arg(&args, "--dtype", "f32")).unwrap();
    let (config, _vs, gpt) = hf::load_model_dir(&dir, device, kind).unwrap();
    let chain = ChainSpec::from_stages(vec![StageSpec::builtin("greedy", [])], &logitloom_runtime::builtins())
        .unwrap()
        .load(&HostOptions::default())
        .unwrap();
    // The same ids the Python side uses: a fixed arithmetic pattern.
    let prompts: Vec<Vec<u32>> = (0..batch)
        .map(|b| (0..prompt_len).map(|i| ((i * 7 + b * 13 + 1) % config.vocab_size) as u32).collect())
        .collect();
    let options = GenerateOptions {
        max_new_tokens: new_tokens,
        eos_token_id: u32::MAX,
        stop_at_eos: false,
        overflow: ContextOverflow::Stop,
    };
    let mut best = f64::INFINITY;
    let mut decode_rate = 0.0;
    let mut cpu_decode = false;
    for round in 0..=repeats {
        let mut instances: Vec<_> = (0..batch)
            .map(|b| {
                chain
                    .instantiate(&SequenceSetup {
                        vocab_size: config.vocab_size,
                        eos_token_id: u32::MAX,
                        seed: b as u64,
                        token_bytes: None,
                    })
                    .unwrap()
            })
            .collect();
        let mut samplers: Vec<Box<dyn SequenceSampler>> = instances
            .iter_mut()
            .map(|instance| Box::new(ChainSampler { instance }) as Box<dyn SequenceSampler>)
            .collect();
        let start = Instant::now();
        let (outputs, stats) = generate(&gpt, &prompts, &mut samplers, &options, &mut |_, _| {}).unwrap();
        if device.is_cuda() {
            tch::Cuda::synchronize(match device {
                tch::Device::Cuda(i) => i as i64,
                _ => 0,
            });
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!(outputs.iter().all(|o| o.tokens.len() == new_tokens));
        // Round 0 warms up allocators and kernels.
        if round > 0 && elapsed < best {
            best = elapsed;
            decode_rate = stats.decode_tokens_per_second();
            cpu_decode = stats.cpu_decode;
        }
    }
    let tokens_per_second = (batch * new_tokens) as f64 / best;
    println!(
        "{}",
        serde_json::json!({"engine": "logitloom", "batch": batch, "dtype": arg(&args, "--dtype", "f32"), "new_tokens": new_tokens,
            "seconds": best, "tokens_per_second": tokens_per_second, "decode_only_tokens_per_second": decode_rate,
            "threads": tch::get_num_threads(), "device": format!("{device:?}"),
            "decode_path": if cpu_decode { "cpu" } else { "libtorch" }})
    );
}
