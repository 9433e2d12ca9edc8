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

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use logitloom_plugin_host::{check_logits, LoadedChain};

mod common;

use common::*;

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
    let cases = processor_cases();
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
        let chain = load(conservative_chain(source));
        bench_chain(c, &format!("conservative/{source}"), &chain, &inputs);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    targets = processors, conservative
}
criterion_main!(benches);
