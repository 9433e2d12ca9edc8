//! Processors run through native, WASM and hand-written WASM plugins in one
//! chain, in one process, with their observations collected.

mod common;

use common::*;
use logitloom_plugin_host::{ChainSpec, ParamValue, PluginKind, PluginLibrary, SequenceSetup};

fn bias(lib: &std::path::Path, token: i64, amount: f64) -> logitloom_plugin_host::StageSpec {
    stage(lib, "bias", &[("token", ParamValue::Int(token)), ("amount", ParamValue::Float(amount))])
}

#[test]
fn native_wasm_and_handwritten_wasm_stages_share_one_chain() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    let native = native_plugin("logitloom-test-plugins");
    let wasm = wasm_plugin("logitloom-test-plugins");
    // Row maximum is 2.0 (at several tokens); EOS=63 gets +100 natively,
    // ban_eos.wat bans it again, +5 in WASM makes token 10 the winner.
    let stages = vec![
        bias(&native, EOS as i64, 100.0),
        stage(&wat("ban_eos.wat"), "ban_eos", &[]),
        bias(&wasm, 10, 5.0),
        stage(&wasm, "argmax", &[]),
    ];
    let chain = ChainSpec::from_stages(stages, &common::builtins()).unwrap().load(&opts).unwrap();
    assert_eq!(chain.stage_labels(), ["bias", "ban_eos", "bias#2", "argmax"]);
    let mut instance =
        chain.instantiate(&SequenceSetup { vocab_size: VOCAB, eos_token_id: EOS, seed: 1, token_bytes: None }).unwrap();
    let mut logits = logits_row(0);
    let expected_10 = logits[10] + 5.0;
    let token = instance.step(&[1, 2, 3], 3, 0, &mut logits).unwrap();
    assert_eq!(token, 10);
    assert_eq!(logits[EOS as usize], f32::NEG_INFINITY);
    assert_eq!(logits[10], expected_10);

    let observations = instance.take_observations();
    let summary: Vec<(&str, usize, &serde_json::Value)> =
        observations.iter().map(|o| (o.stage.as_str(), o.step, &o.record)).collect();
    let eos_after_bias = logits_row(0)[EOS as usize] + 100.0;
    assert_eq!(
        summary,
        vec![
            ("bias", 0, &serde_json::json!({ "logit": eos_after_bias, "token": 63 })),
            ("ban_eos", 0, &serde_json::json!({ "banned": "eos" })),
            ("bias#2", 0, &serde_json::json!({ "logit": expected_10, "token": 10 })),
        ]
    );
    assert!(instance.take_observations().is_empty(), "observations are handed out once");
    assert_eq!(instance.stage_times().len(), 4);
}

#[test]
fn tokens_and_steps_reach_wasm_plugins_across_many_steps() {
    // The token buffer inside the module is regrown past its first 1024
    // entries; a wrong copy would change which tokens argmax sees as equal.
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    let wasm = wasm_plugin("logitloom-test-plugins");
    let chain = ChainSpec::from_stages(vec![bias(&wasm, 7, 50.0), stage(&wasm, "argmax", &[])], &common::builtins())
        .unwrap()
        .load(&opts)
        .unwrap();
    let mut instance =
        chain.instantiate(&SequenceSetup { vocab_size: VOCAB, eos_token_id: EOS, seed: 1, token_bytes: None }).unwrap();
    let mut tokens: Vec<u32> = (0..1500).map(|i| i % 60).collect();
    for step in 0..3 {
        let mut logits = logits_row(step);
        let token = instance.step(&tokens, 1500, step, &mut logits).unwrap();
        assert_eq!(token, 7);
        tokens.push(token);
    }
}

#[test]
fn libraries_report_kind_version_and_processors() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    let native = PluginLibrary::open(&native_plugin("logitloom-test-plugins"), &opts).unwrap();
    let wasm = PluginLibrary::open(&wasm_plugin("logitloom-test-plugins"), &opts).unwrap();
    let wat = PluginLibrary::open(&wat("ban_eos.wat"), &opts).unwrap();
    assert_eq!((native.kind(), wasm.kind(), wat.kind()), (PluginKind::Native, PluginKind::Wasm, PluginKind::Wasm));
    let names = |l: &PluginLibrary| l.processors().iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&native), names(&wasm));
    assert_eq!(names(&wat), ["ban_eos"]);
    assert_eq!(wat.interface_version().to_string(), "1.0");
    assert_eq!(common::builtins().kind(), PluginKind::Builtin);
}

#[test]
fn compiled_modules_are_cached_on_disk() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    // trap.wat is compiled by no other test in this binary, so the
    // in-process module memo cannot have kept it from reaching the disk.
    PluginLibrary::open(&wat("trap.wat"), &opts).unwrap();
    let files: Vec<_> = std::fs::read_dir(cache.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_str().unwrap().ends_with(".cwasm"));
}

/// The plugin template (`plugins/template`, the starting point
/// docs/plugins.md hands to authors) builds from one source as a native
/// library and as a WASM module, and both do the same thing in a chain.
#[test]
fn the_plugin_template_runs_natively_and_as_wasm_alike() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    let texts: Vec<Vec<u8>> = (0..VOCAB).map(|i| format!("t{i}").into_bytes()).collect();
    let token_bytes = std::sync::Arc::new(logitloom_plugin_host::OwnedTokenBytes::from_tokens(&texts));
    let words = ParamValue::StringList(vec!["t1".into()]);
    // "t1" occurs in t1, t10..t19: eleven tokens out of 64.
    let mut row = vec![0.0f32; VOCAB];
    row[12] = 9.0; // the best token is banned ...
    row[40] = 5.0; // ... so this one wins
    let mut outcomes = Vec::new();
    for plugin in [native_plugin("logitloom-plugin-template"), wasm_plugin("logitloom-plugin-template")] {
        let builtin_greedy =
            logitloom_plugin_host::StageSpec { plugin: "greedy".into(), processor: None, params: Default::default() };
        let stages = vec![stage(&plugin, "ban_words", &[("words", words.clone())]), builtin_greedy];
        let chain = ChainSpec::from_stages(stages, &common::builtins()).unwrap().load(&opts).unwrap();
        let setup =
            SequenceSetup { vocab_size: VOCAB, eos_token_id: EOS, seed: 1, token_bytes: Some(token_bytes.clone()) };
        let mut instance = chain.instantiate(&setup).unwrap();
        let mut logits = row.clone();
        let token = instance.step(&[1, 2], 2, 0, &mut logits).unwrap();
        let banned: Vec<usize> = (0..VOCAB).filter(|&i| logits[i] == f32::NEG_INFINITY).collect();
        let records: Vec<serde_json::Value> = instance.take_observations().into_iter().map(|o| o.record).collect();
        outcomes.push((token, banned, records));
    }
    let (token, banned, records) = &outcomes[0];
    assert_eq!(*token, 40);
    assert_eq!(*banned, [1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    assert_eq!(*records, [serde_json::json!({ "banned": 11 })]);
    assert_eq!(outcomes[1], outcomes[0], "the WASM build must behave like the native one");
}
