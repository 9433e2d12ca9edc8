//! The host's resident memory stays bounded whatever a plugin hands it.
//! Its own test binary, so no other test's allocations run alongside the
//! measurement. The bound is 48 MiB over the peak before the hostile runs:
//! each run below would copy at least 32 MiB (a record), 64 MiB (an error
//! message) or 100 MiB (a describe) into the host if that were not refused,
//! and they repeat, so a host that kept any of it would pass the bound many
//! times over.

mod common;

use common::*;
use logitloom_plugin_host::{ChainSpec, PluginLibrary, SequenceSetup, StageSpec};

const BOUND: u64 = 48 << 20;

/// `VmHWM` (peak resident set) of this process, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status (the test measures resident memory, Linux only)");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/self/status");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("VmHWM value");
    kib << 10
}

#[test]
fn hostile_plugins_leave_the_host_within_its_memory_bound() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    let hostile = wat("hostile.wat");
    let setup = SequenceSetup { vocab_size: VOCAB, eos_token_id: EOS, seed: 0, token_bytes: None };
    let chains: Vec<_> = ["observe_huge", "huge_error", "observe_flood", "observe_byte_flood"]
        .into_iter()
        .map(|p| {
            ChainSpec::from_stages(vec![stage(&hostile, p, &[]), StageSpec::builtin("greedy", [])], &builtins())
                .unwrap()
                .load(&opts)
                .unwrap()
        })
        .collect();
    // Warm up: compile, instantiate and fail each once, so the baseline
    // includes wasmtime's own one-off allocations.
    let run_all = || {
        for chain in &chains {
            let mut instance = chain.instantiate(&setup).unwrap();
            let err = instance.step(&[1, 2, 3], 3, 0, &mut logits_row(0)).expect_err("every hostile stage fails");
            drop(instance.take_observations());
            let _ = err.to_string();
        }
        let Err(err) = PluginLibrary::open(&wat("describe_100mb.wat"), &opts) else {
            panic!("describe_100mb.wat must be refused")
        };
        let _ = err.to_string();
    };
    run_all();
    let before = peak_rss();
    for _ in 0..20 {
        run_all();
    }
    let grown = peak_rss().saturating_sub(before);
    eprintln!("peak resident memory grew by {} KiB over 20 rounds of hostile plugins", grown >> 10);
    assert!(grown < BOUND, "peak resident memory grew by {} MiB (bound {} MiB)", grown >> 20, BOUND >> 20);
}
