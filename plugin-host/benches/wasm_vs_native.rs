//! WASM against native, per standard plugin, measured interleaved.
//!
//! `processors` (criterion) measures each variant in its own time window;
//! on a shared two-core machine the load drifts between windows by ±30%,
//! which is as large as the WASM overhead being judged. Here the native and
//! the WASM chain of a plugin take turns: 200 rounds of a few tokens each,
//! alternating, and the reported ratio is the median of the per-round
//! ratios, so drift slower than a round cancels out.
//!
//! Same chains and inputs as `processors` (`[plugin, builtin greedy]`, or
//! the sampler alone; the row is copied into the chain's input row inside
//! the timing). Build the artifacts as described there, then:
//!   ./dev.sh cargo bench --workspace --bench wasm_vs_native

mod common;

use std::time::Instant;

use common::*;
use logitloom_plugin_host::{ChainInstance, LoadedChain, StageSpec};

const ROUNDS: usize = 200;
const TOKENS_PER_ROUND: usize = 5;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Microseconds per token over one round.
fn round(instance: &mut ChainInstance, inputs: &Inputs, step: &mut usize) -> f64 {
    let started = Instant::now();
    for _ in 0..TOKENS_PER_ROUND {
        *step += 1;
        instance.input_row().copy_from_slice(&inputs.row);
        std::hint::black_box(instance.step_input_row(&inputs.tokens, 256, *step).unwrap());
    }
    started.elapsed().as_secs_f64() * 1e6 / TOKENS_PER_ROUND as f64
}

/// Median µs/token of each chain and the median per-round ratio b/a.
fn interleaved(a: &LoadedChain, b: &LoadedChain, inputs: &Inputs) -> (f64, f64, f64) {
    let (mut ia, mut ib) = (a.instantiate(&inputs.setup).unwrap(), b.instantiate(&inputs.setup).unwrap());
    let (mut sa, mut sb) = (0, 0);
    for _ in 0..3 {
        round(&mut ia, inputs, &mut sa);
        round(&mut ib, inputs, &mut sb);
    }
    let (mut ta, mut tb, mut ratios) = (vec![], vec![], vec![]);
    for r in 0..ROUNDS {
        // Alternate who goes first, so neither always runs on a warmer cache.
        let (x, y) = if r % 2 == 0 {
            let x = round(&mut ia, inputs, &mut sa);
            (x, round(&mut ib, inputs, &mut sb))
        } else {
            let y = round(&mut ib, inputs, &mut sb);
            (round(&mut ia, inputs, &mut sa), y)
        };
        ta.push(x);
        tb.push(y);
        ratios.push(y / x);
    }
    (median(&mut ta), median(&mut tb), median(&mut ratios))
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter may follow.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let inputs = inputs();
    let mut rows: Vec<(String, Vec<StageSpec>, Vec<StageSpec>)> = processor_cases()
        .into_iter()
        .map(|(name, params)| {
            let chain = |source| vec![stage(source, name, &params), stage("builtin", "greedy", &[])];
            (name.to_string(), chain("native"), chain("wasm"))
        })
        .collect();
    for sampler in ["greedy", "multinomial"] {
        rows.push((
            format!("{sampler} (alone)"),
            vec![stage("native", sampler, &[])],
            vec![stage("wasm", sampler, &[])],
        ));
    }
    rows.push(("conservative chain".into(), conservative_chain("native"), conservative_chain("wasm")));
    println!("| plugin | native µs/token | WASM µs/token | WASM / native (median of {ROUNDS} paired rounds) |");
    println!("|---|---|---|---|");
    for (name, native, wasm) in rows {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let (n, w, ratio) = interleaved(&load(native), &load(wasm), &inputs);
        println!("| {name} | {n:.1} | {w:.1} | {ratio:.2}x |");
    }
}
