//! Per-token cost of each standard processor, built in, native and WASM
//! (every copy of the row included: the one that fills the chain's input
//! row, and any move into a WASM module's memory), and of the whole
//! `conservative` chain, at GPT-2's vocabulary of 50,257.
//!
//! Needs the std-module artifacts of the same profile:
//!   ./dev.sh cargo build --release -p logitloom-std-module
//!   ./dev.sh cargo build --release --target wasm32-unknown-unknown -p logitloom-std-module
//!   ./dev.sh cargo bench -p logitloom-plugin-host --bench processors
//!
//! Each processor runs in a chain `[processor, greedy]` (greedy built in);
//! `greedy_alone` measures that tail so it can be subtracted. The NaN/-inf
//! check is off so only plugin work is measured (it is benched separately).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use logitloom_plugin_host::{
    check_logits, ChainSpec, HostOptions, LoadedChain, OwnedTokenBytes, ParamValue, SequenceSetup, StageSpec,
};

const VOCAB: usize = 50_257;

fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn artifact(wasm: bool) -> PathBuf {
    let path = if wasm {
        profile_dir().parent().unwrap().join("wasm32-unknown-unknown/release/logitloom_std_module.wasm")
    } else {
        profile_dir().join(format!("{}logitloom_std_module{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX))
    };
    assert!(path.is_file(), "missing {}: see the build commands at the top of benches/processors.rs", path.display());
    path
}

fn stage(source: &str, name: &str, params: &[(&str, ParamValue)]) -> StageSpec {
    let params = params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    match source {
        "builtin" => StageSpec { plugin: name.into(), processor: None, params },
        other => StageSpec {
            plugin: artifact(other == "wasm").display().to_string(),
            processor: Some(name.into()),
            params,
        },
    }
}

fn load(stages: Vec<StageSpec>) -> LoadedChain {
    let opts = HostOptions { check_logits: false, ..HostOptions::default() };
    ChainSpec::from_stages(stages).unwrap().load(&opts).unwrap()
}

struct Inputs {
    row: Vec<f32>,
    tokens: Vec<u32>,
    setup: SequenceSetup,
}

fn inputs() -> Inputs {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // Roughly the spread of a real GPT-2 row: most tokens far below the top.
    let row = (0..VOCAB).map(|_| ((next() >> 40) as f32 / (1u64 << 24) as f32) * 20.0 - 12.0).collect();
    let tokens = (0..512).map(|_| (next() % VOCAB as u64) as u32).collect();
    let bytes: Vec<Vec<u8>> =
        (0..VOCAB).map(|i| if i % 40 == 0 { b"\n".to_vec() } else { format!("t{i}").into_bytes() }).collect();
    let setup = SequenceSetup {
        vocab_size: VOCAB,
        eos_token_id: 50_256,
        seed: 3,
        token_bytes: Some(Arc::new(OwnedTokenBytes::from_tokens(&bytes))),
    };
    Inputs { row, tokens, setup }
}

/// Times one token the way the engine produces it: the model's row is
/// copied into the chain's input row (inside the first stage's module when
/// that is WASM, a host buffer otherwise: one copy either way), then the
/// chain runs. Any further copy a WASM stage needs is inside the timing.
fn bench_chain(c: &mut Criterion, id: &str, chain: &LoadedChain, inputs: &Inputs) {
    let mut instance = chain.instantiate(&inputs.setup).unwrap();
    let mut step = 0;
    c.bench_function(id, |b| {
        b.iter(|| {
            step += 1;
            instance.input_row().copy_from_slice(&inputs.row);
            instance.step_input_row(&inputs.tokens, 256, step).unwrap()
        })
    });
}

fn processors(c: &mut Criterion) {
    let inputs = inputs();
    let f = ParamValue::Float;
    let i = ParamValue::Int;
    let cases: Vec<(&str, Vec<(&str, ParamValue)>)> = vec![
        ("temperature", vec![("temperature", f(0.8))]),
        ("top_k", vec![("k", i(40))]),
        ("top_p", vec![("p", f(0.95))]),
        ("min_p", vec![("p", f(0.05))]),
        ("repetition_penalty", vec![("penalty", f(1.15))]),
        ("frequency_presence_penalty", vec![("frequency", f(0.3)), ("presence", f(0.3))]),
        ("no_repeat_ngram", vec![("n", i(3))]),
        ("dry", vec![]),
        ("entropy_logger", vec![]),
    ];
    bench_chain(c, "greedy_alone/builtin", &load(vec![stage("builtin", "greedy", &[])]), &inputs);
    for (name, params) in &cases {
        for source in ["builtin", "native", "wasm"] {
            let chain = load(vec![stage(source, name, params), stage("builtin", "greedy", &[])]);
            bench_chain(c, &format!("{name}/{source}"), &chain, &inputs);
        }
    }
    for sampler in ["greedy", "multinomial"] {
        for source in ["builtin", "native", "wasm"] {
            bench_chain(c, &format!("{sampler}/{source}"), &load(vec![stage(source, sampler, &[])]), &inputs);
        }
    }
    c.bench_function("check_logits", |b| b.iter(|| check_logits(std::hint::black_box(&inputs.row))));
    // The copy every row above includes once: model output to input row.
    let mut destination = vec![0f32; VOCAB];
    c.bench_function("row_copy", |b| b.iter(|| destination.copy_from_slice(std::hint::black_box(&inputs.row))));
}

fn conservative(c: &mut Criterion) {
    let inputs = inputs();
    for source in ["builtin", "native", "wasm"] {
        let chain = load(vec![
            stage(source, "repetition_penalty", &[("penalty", ParamValue::Float(1.15))]),
            stage(source, "top_k", &[("k", ParamValue::Int(40))]),
            stage(source, "top_p", &[("p", ParamValue::Float(0.95))]),
            stage(source, "multinomial", &[]),
        ]);
        bench_chain(c, &format!("conservative/{source}"), &chain, &inputs);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    targets = processors, conservative
}
criterion_main!(benches);
