//! Plugins that abuse what the host copies out of them: observations,
//! error text, the describe JSON (plugins/testing/wat/hostile.wat and
//! describe_100mb.wat). Each is refused with an error naming the limit; the
//! host's memory bound is measured in `hostile_memory.rs`.

mod common;

use common::*;
use logitloom_plugin_host::{ChainSpec, HostError, ObserveLimits, StageFailure, MAX_ERROR_BYTES};

/// Runs one hostile processor (then greedy) for a step; its error.
fn failure(processor: &str, limits: ObserveLimits) -> StageFailure {
    let cache = tempfile::tempdir().unwrap();
    let stages =
        vec![stage(&wat("hostile.wat"), processor, &[]), logitloom_plugin_host::StageSpec::builtin("greedy", [])];
    let chain = ChainSpec::from_stages(stages, &builtins())
        .unwrap()
        .with_observe_limits(limits)
        .load(&options(&cache))
        .unwrap();
    let setup =
        logitloom_plugin_host::SequenceSetup { vocab_size: VOCAB, eos_token_id: EOS, seed: 0, token_bytes: None };
    let mut instance = chain.instantiate(&setup).unwrap();
    match instance.step(&[1, 2, 3], 3, 0, &mut logits_row(0)) {
        Err(HostError::Stage { stage: 1, step: 0, failure, .. }) => failure,
        other => panic!("{processor}: expected a failure of stage 1 at step 0, got {other:?}"),
    }
}

fn error_text(processor: &str) -> String {
    match failure(processor, ObserveLimits::default()) {
        StageFailure::Error(m) => m,
        other => panic!("{processor}: expected an error, got {other}"),
    }
}

#[test]
fn an_observe_flood_stops_at_the_record_count() {
    assert_eq!(
        error_text("observe_flood"),
        "observe: more than 64 records at one step ([observe] max_records_per_step)"
    );
}

#[test]
fn a_huge_record_is_refused_before_it_is_copied() {
    assert_eq!(
        error_text("observe_huge"),
        "observe: a record of 33554432 bytes is over the limit of 65536 bytes per record ([observe] max_record_bytes)"
    );
}

#[test]
fn records_under_the_size_limit_stop_at_the_bytes_per_step() {
    // 60,000-byte records: the 18th passes 1 MiB in one step.
    assert_eq!(
        error_text("observe_byte_flood"),
        "observe: records of more than 1048576 bytes at one step ([observe] max_bytes_per_step)"
    );
}

#[test]
fn a_record_that_is_not_json_is_refused() {
    let text = error_text("observe_not_json");
    assert!(text.starts_with("observe: a record is not JSON (") && text.ends_with("\"not json {\""), "{text}");
}

#[test]
fn a_record_that_is_not_utf8_is_refused_not_stored_lossily() {
    let text = error_text("observe_bad_utf8");
    assert!(text.starts_with("observe: a record is not UTF-8 ("), "{text}");
}

#[test]
fn a_huge_error_message_is_cut_with_a_marker() {
    let text = error_text("huge_error");
    let marker = format!("... [{} more bytes of the plugin's message cut]", (64 << 20) - MAX_ERROR_BYTES);
    assert!(text.ends_with(&marker), "{}", &text[text.len().saturating_sub(100)..]);
    assert_eq!(text.len(), MAX_ERROR_BYTES + marker.len());
}

#[test]
fn an_error_message_outside_memory_is_named() {
    assert_eq!(
        error_text("error_outside"),
        "(logitloom_last_error returned a string at 4294901760+100, outside its memory)"
    );
}

#[test]
fn a_describe_of_100_mib_is_refused_by_size() {
    let cache = tempfile::tempdir().unwrap();
    let path = wat("describe_100mb.wat");
    let Err(err) = logitloom_plugin_host::PluginLibrary::open(&path, &options(&cache)) else {
        panic!("{} must be refused", path.display())
    };
    assert_eq!(
        err.to_string(),
        format!("{}: logitloom_describe returned 104857600 bytes; at most 1048576 are accepted", path.display())
    );
}

#[test]
fn the_limits_come_from_the_chain_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[observe]\nmax_records_per_step = 100000\n\n[[stage]]\npath = {:?}\nprocessor = \"observe_flood\"\n\n[[stage]]\nplugin = \"greedy\"\n",
        wat("hostile.wat").display().to_string()
    );
    let spec = ChainSpec::from_toml_str(&text, "flood.toml", dir.path(), &builtins()).unwrap();
    assert_eq!(spec.observe_limits(), ObserveLimits { max_records_per_step: 100_000, ..ObserveLimits::default() });
    // 100,000 imports take longer than the default 100 ms on a loaded machine.
    let opts =
        logitloom_plugin_host::HostOptions { wasm_deadline: std::time::Duration::from_secs(30), ..options(&dir) };
    let chain = spec.load(&opts).unwrap();
    let setup =
        logitloom_plugin_host::SequenceSetup { vocab_size: VOCAB, eos_token_id: EOS, seed: 0, token_bytes: None };
    let mut instance = chain.instantiate(&setup).unwrap();
    instance.step(&[1, 2, 3], 3, 0, &mut logits_row(0)).expect("100,000 small records are allowed now");
    let observations = instance.take_observations();
    assert_eq!(observations.len(), 100_000);
    assert_eq!(observations[0].record, serde_json::json!({"n": 1}));

    let typo = "[observe]\nmax_record_size = 5\n[[stage]]\nplugin = \"greedy\"\n";
    let err = ChainSpec::from_toml_str(typo, "typo.toml", dir.path(), &builtins()).unwrap_err().to_string();
    assert!(err.starts_with("typo.toml:2: unknown field `max_record_size`"), "{err}");
}

#[test]
fn oversized_parameters_are_refused_before_any_plugin_sees_them() {
    let huge = vec!["x".repeat(1000); 1100];
    let stages = vec![
        logitloom_plugin_host::StageSpec::builtin(
            "dry",
            [("sequence_breakers", logitloom_plugin_host::ParamValue::StringList(huge))],
        ),
        logitloom_plugin_host::StageSpec::builtin("greedy", []),
    ];
    let err = ChainSpec::from_stages(stages, &builtins()).unwrap_err().to_string();
    assert!(err.starts_with("command line: stage 1 (dry): the parameters take 110"), "{err}");
    assert!(err.ends_with("bytes as JSON; at most 1048576"), "{err}");
}
