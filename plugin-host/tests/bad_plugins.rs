//! The host survives every way a plugin can fail, and says what went wrong:
//! which stage, which plugin, which step, what happened.

mod common;

use common::*;
use logitloom_plugin_host::{HostError, HostOptions, ParamValue, StageFailure};

fn at_step(step: i64) -> [(&'static str, ParamValue); 1] {
    [("at_step", ParamValue::Int(step))]
}

/// Runs `misbehaving` (failing at step 2) followed by an argmax sampler from
/// the same library and returns the error, after checking that the same
/// process can still run a healthy chain.
fn failure_of(library: &std::path::Path, misbehaving: &str, opts: &HostOptions) -> HostError {
    let stages = vec![stage(library, misbehaving, &at_step(2)), stage(library, "argmax", &[])];
    let err = run_chain(stages, opts, 4).expect_err("the misbehaving stage must fail the chain");
    let healthy = vec![
        stage(library, "bias", &[("token", ParamValue::Int(5)), ("amount", ParamValue::Float(10.0))]),
        stage(library, "argmax", &[]),
    ];
    assert_eq!(run_chain(healthy, opts, 2).expect("host still works after the failure"), vec![5, 5]);
    err
}

fn assert_stage_failure(err: &HostError, name: &str, step: usize, expected: impl Fn(&StageFailure) -> bool) {
    match err {
        HostError::Stage { stage, name: n, step: s, failure, .. } => {
            assert_eq!((*stage, n.as_str(), *s), (1, name, step), "{err}");
            assert!(expected(failure), "unexpected failure: {err}");
        }
        other => panic!("expected a stage failure, got: {other}"),
    }
}

#[test]
fn native_panic_becomes_an_error_naming_plugin_and_step() {
    let cache = tempfile::tempdir().unwrap();
    let lib = native_plugin("logitloom-test-plugins");
    let err = failure_of(&lib, "panic_at", &options(&cache));
    assert_stage_failure(&err, "panic_at", 2, |f| *f == StageFailure::Panic("deliberate test panic".into()));
    let text = err.to_string();
    assert!(text.starts_with("stage 1 `panic_at` (native plugin "), "{text}");
    assert!(text.contains(&lib.display().to_string()), "{text}");
    assert!(text.ends_with("at step 2: panicked: deliberate test panic"), "{text}");
}

#[test]
fn wasm_panic_traps_and_keeps_its_message() {
    let cache = tempfile::tempdir().unwrap();
    let err = failure_of(&wasm_plugin("logitloom-test-plugins"), "panic_at", &options(&cache));
    assert_stage_failure(
        &err,
        "panic_at",
        2,
        |f| matches!(f, StageFailure::Trap(m) if m.contains("deliberate test panic") && m.contains("unreachable")),
    );
}

#[test]
fn plugin_errors_are_reported_on_both_abis() {
    let cache = tempfile::tempdir().unwrap();
    for lib in [native_plugin("logitloom-test-plugins"), wasm_plugin("logitloom-test-plugins")] {
        let err = failure_of(&lib, "fail_at", &options(&cache));
        assert_stage_failure(&err, "fail_at", 2, |f| *f == StageFailure::Error("deliberate test error".into()));
    }
}

#[test]
fn handwritten_trap_is_an_error() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    let lib = native_plugin("logitloom-test-plugins");
    let stages = vec![stage(&wat("trap.wat"), "trap", &[]), stage(&lib, "argmax", &[])];
    let err = run_chain(stages, &opts, 1).unwrap_err();
    assert_stage_failure(&err, "trap", 0, |f| matches!(f, StageFailure::Trap(m) if m.contains("unreachable")));
}

#[test]
fn endless_wasm_loop_hits_the_deadline() {
    let cache = tempfile::tempdir().unwrap();
    let opts = HostOptions { wasm_deadline: std::time::Duration::from_millis(50), ..options(&cache) };
    let err = failure_of(&wasm_plugin("logitloom-test-plugins"), "spin_forever", &opts);
    assert_stage_failure(&err, "spin_forever", 2, |f| {
        *f == StageFailure::Timeout(std::time::Duration::from_millis(50))
    });
    assert!(err.to_string().ends_with("at step 2: exceeded its deadline of 50ms and was interrupted"), "{err}");
}

#[test]
fn unbounded_wasm_allocation_hits_the_memory_limit() {
    let cache = tempfile::tempdir().unwrap();
    // A generous deadline: under load the default 100 ms could interrupt the
    // allocation loop before it reaches the limit, and then the test would
    // see a timeout instead of what it checks.
    let opts = HostOptions {
        wasm_memory_limit_bytes: 32 << 20,
        wasm_deadline: std::time::Duration::from_secs(20),
        ..options(&cache)
    };
    let err = failure_of(&wasm_plugin("logitloom-test-plugins"), "allocate_forever", &opts);
    assert_stage_failure(&err, "allocate_forever", 2, |f| *f == StageFailure::MemoryLimit(32 << 20));
}

#[test]
fn nan_logits_are_caught_after_the_stage_that_wrote_them() {
    let cache = tempfile::tempdir().unwrap();
    for lib in [native_plugin("logitloom-test-plugins"), wasm_plugin("logitloom-test-plugins")] {
        let err = failure_of(&lib, "write_nan", &options(&cache));
        assert_stage_failure(&err, "write_nan", 2, |f| {
            *f == StageFailure::InvalidLogits("1 NaN logit(s), first at token 3".into())
        });
    }
}

#[test]
fn masking_every_token_is_caught() {
    let cache = tempfile::tempdir().unwrap();
    for lib in [native_plugin("logitloom-test-plugins"), wasm_plugin("logitloom-test-plugins")] {
        let err = failure_of(&lib, "mask_all", &options(&cache));
        assert_stage_failure(&err, "mask_all", 2, |f| {
            *f == StageFailure::InvalidLogits(format!(
                "every one of the {VOCAB} tokens is masked (-inf), nothing can be sampled"
            ))
        });
    }
}

#[test]
fn a_failed_instance_refuses_further_steps() {
    let cache = tempfile::tempdir().unwrap();
    let lib = native_plugin("logitloom-test-plugins");
    let chain = logitloom_plugin_host::ChainSpec::from_stages(
        vec![stage(&lib, "fail_at", &at_step(0)), stage(&lib, "argmax", &[])],
        &common::builtins(),
    )
    .unwrap()
    .load(&options(&cache))
    .unwrap();
    let setup =
        logitloom_plugin_host::SequenceSetup { vocab_size: VOCAB, eos_token_id: EOS, seed: 0, token_bytes: None };
    let mut instance = chain.instantiate(&setup).unwrap();
    assert!(instance.step(&[1], 1, 0, &mut logits_row(0)).is_err());
    let again = instance.step(&[1], 1, 1, &mut logits_row(1)).unwrap_err();
    assert!(matches!(again, HostError::Poisoned(ref m) if m.contains("deliberate test error")), "{again}");
}

fn load_error(path: &std::path::Path) -> HostError {
    let cache = tempfile::tempdir().unwrap();
    match logitloom_plugin_host::PluginLibrary::open(path, &options(&cache)) {
        Ok(_) => panic!("{} must be refused", path.display()),
        Err(err) => err,
    }
}

#[test]
fn native_plugin_of_another_interface_version_is_refused_naming_both() {
    let err = load_error(&native_plugin("logitloom-test-old-interface"));
    let text = err.to_string();
    assert!(text.contains("built against plugin interface 0.9, this host supports 1.1"), "{text}");
}

#[test]
fn wasm_plugin_of_another_interface_version_is_refused_naming_both() {
    let text = load_error(&wat("other_version.wat")).to_string();
    assert!(text.contains("built against plugin interface 2.0, this host supports 1.1"), "{text}");
}

#[test]
fn files_that_are_not_plugins_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["x.so", "x.wasm"] {
        let path = dir.path().join(name);
        std::fs::write(&path, "just some text\n").unwrap();
        let text = load_error(&path).to_string();
        assert!(text.starts_with(&path.display().to_string()), "{text}");
        let expected = if name.ends_with(".so") { "not a loadable native library" } else { "not a valid WASM module" };
        assert!(text.contains(expected), "{text}");
    }
}

#[test]
fn native_library_without_the_plugin_symbols_is_refused() {
    // The old-interface crate is a plugin; the test binary's own libstd is
    // a shared library that certainly is not.
    let libc = ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.is_file());
    let Some(libm) = libc else {
        // Not every system keeps libm there; CI's does, and must check this.
        assert!(std::env::var("CI").as_deref() != Ok("true"), "no libm.so.6 found to try as a non-plugin library");
        eprintln!("skipped: no libm.so.6 in the usual places");
        return;
    };
    let text = load_error(&libm).to_string();
    assert!(text.contains("not a logitloom plugin (no `logitloom_interface_version` symbol"), "{text}");
}

#[test]
fn wasm_module_missing_an_export_is_refused_naming_it() {
    let text = load_error(&wat("missing_export.wat")).to_string();
    assert!(text.contains("missing export `logitloom_process`, needed by processor `incomplete`"), "{text}");
}
