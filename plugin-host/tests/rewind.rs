//! Rewinds (plugin interface 1.1): stage rollback equals replay for every
//! standard processor on every host, requests made through the WASM ABI
//! with no SDK, bad requests, the budget and the no-repeat rule, and 1.0
//! plugins that know nothing of rewinds.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use logitloom_plugin_host::{
    ChainInstance, ChainSpec, Decision, HostOptions, LoadedChain, Observation, OwnedTokenBytes, ParamValue,
    RewindBudget, SequenceSetup, StageSpec,
};

const V: usize = 96;
const PROMPT: usize = 12;

/// A logits row that depends only on the prefix, as a model's would: two
/// runs that reach the same prefix see the same row.
fn row_for(tokens: &[u32]) -> Vec<f32> {
    let mut rng = logitloom_numerics::SplitMix64::new(logitloom_numerics::fnv1a_u32s(tokens));
    (0..V)
        .map(|_| {
            // A coarse grid makes ties, which tie-breaking must survive.
            (rng.next_f32() * 16.0).floor() * 0.5 - 4.0
        })
        .collect()
}

fn prompt() -> Vec<u32> {
    // Few distinct ids, so penalties and n-gram bans have work.
    (0..PROMPT as u32).map(|i| (i * 5) % 11).collect()
}

fn token_bytes() -> Arc<OwnedTokenBytes> {
    let tokens: Vec<Vec<u8>> =
        (0..V).map(|i| if i % 13 == 0 { b"\n".to_vec() } else { format!("t{i}").into_bytes() }).collect();
    Arc::new(OwnedTokenBytes::from_tokens(&tokens))
}

fn setup(seed: u64) -> SequenceSetup {
    SequenceSetup { vocab_size: V, eos_token_id: (V - 1) as u32, seed, token_bytes: Some(token_bytes()) }
}

/// One step's outcome: token, the row as the chain left it, observations.
type Seen = (u32, Vec<u32>, Vec<Observation>);

/// `steps` forward steps (rewinds refused), appending to `tokens`.
fn run(instance: &mut ChainInstance, tokens: &mut Vec<u32>, steps: usize) -> Vec<Seen> {
    (0..steps)
        .map(|_| {
            let mut row = row_for(tokens);
            let token = instance.step(tokens, PROMPT, tokens.len() - PROMPT, &mut row).unwrap();
            tokens.push(token);
            (token, row.iter().map(|x| x.to_bits()).collect(), instance.take_observations())
        })
        .collect()
}

/// Where a processor comes from.
#[derive(Clone)]
enum Source {
    Builtin,
    File(PathBuf),
}

fn stage_of(source: &Source, name: &str, params: &[(&str, ParamValue)]) -> StageSpec {
    match source {
        Source::Builtin => StageSpec {
            plugin: name.to_string(),
            processor: None,
            params: params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        },
        Source::File(path) => stage(path, name, params),
    }
}

fn load(stages: Vec<StageSpec>, opts: &HostOptions) -> LoadedChain {
    ChainSpec::from_stages(stages, &common::builtins()).unwrap().load(opts).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs 10 steps, rolls back to 4 generated tokens, runs 8 more; a fresh
/// instance runs the 4 kept steps and the same 8: both must see and do
/// exactly the same in those 8 steps.
fn assert_rollback_equals_replay(label: &str, chain: &LoadedChain) {
    let mut a = chain.instantiate(&setup(5)).unwrap();
    let mut a_tokens = prompt();
    run(&mut a, &mut a_tokens, 10);
    a.rewind_to(&a_tokens, PROMPT, PROMPT + 4).unwrap();
    a_tokens.truncate(PROMPT + 4);
    a.take_observations();
    let a_after = run(&mut a, &mut a_tokens, 8);

    let mut b = chain.instantiate(&setup(5)).unwrap();
    let mut b_tokens = prompt();
    run(&mut b, &mut b_tokens, 4);
    assert_eq!(&b_tokens[..], &a_tokens[..PROMPT + 4], "{label}: the kept prefix");
    b.take_observations();
    let b_after = run(&mut b, &mut b_tokens, 8);
    for (i, (a, b)) in a_after.iter().zip(&b_after).enumerate() {
        assert_eq!(a.0, b.0, "{label}: token {i} after the rewind");
        assert_eq!(a.1, b.1, "{label}: logits {i} after the rewind");
        assert_eq!(a.2, b.2, "{label}: observations {i} after the rewind");
    }
}

fn std_processors() -> Vec<(&'static str, Vec<(&'static str, ParamValue)>)> {
    let f = ParamValue::Float;
    let i = ParamValue::Int;
    vec![
        ("temperature", vec![("temperature", f(0.7))]),
        ("top_k", vec![("k", i(5))]),
        ("top_p", vec![("p", f(0.9))]),
        ("min_p", vec![("p", f(0.1))]),
        ("repetition_penalty", vec![("penalty", f(1.3))]),
        ("frequency_presence_penalty", vec![("frequency", f(0.5)), ("presence", f(0.5))]),
        ("no_repeat_ngram", vec![("n", i(2))]),
        ("dry", vec![]),
        ("entropy_logger", vec![]),
        ("loop_breaker", vec![("min_span", i(4))]),
        ("entropy_backtrack", vec![("min_prob", f(0.2)), ("max_entropy", f(5.0)), ("window", i(2))]),
    ]
}

#[test]
fn rollback_equals_replay_for_every_standard_processor_builtin_native_and_wasm() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    let sources = [
        ("builtin", Source::Builtin),
        ("native", Source::File(native_plugin("logitloom-std-module"))),
        ("wasm", Source::File(wasm_plugin("logitloom-std-module"))),
    ];
    for (host, source) in &sources {
        for (name, params) in std_processors() {
            let chain = load(vec![stage_of(source, name, &params), stage_of(source, "greedy", &[])], &opts);
            assert_rollback_equals_replay(&format!("{name} ({host})"), &chain);
        }
        let chain = load(vec![stage_of(source, "greedy", &[])], &opts);
        assert_rollback_equals_replay(&format!("greedy ({host})"), &chain);
    }
}

#[test]
fn stages_without_rollback_are_replayed_native_wasm_and_interface_1_0() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/testing/fixtures/interface-1.0");
    for (label, path) in
        [("native", native_plugin("logitloom-test-plugins")), ("wasm", wasm_plugin("logitloom-test-plugins"))]
    {
        // Its state is the count of accepted tokens: only a replay restores it.
        let chain = load(vec![stage(&path, "accept_counter", &[]), StageSpec::builtin("greedy", [])], &opts);
        assert_rollback_equals_replay(&format!("accept_counter ({label})"), &chain);
    }
    for (label, file) in [("native 1.0", "liblogitloom_test_plugins.so"), ("wasm 1.0", "logitloom_test_plugins.wasm")] {
        let path = fixtures.join(file);
        let chain = load(
            vec![
                stage(&path, "bias", &[("token", ParamValue::Int(7)), ("amount", ParamValue::Float(3.0))]),
                stage(&path, "argmax", &[]),
            ],
            &opts,
        );
        assert!(!chain.may_rewind(), "{label}: a 1.0 plugin cannot ask to rewind");
        assert_rollback_equals_replay(&format!("bias + argmax ({label})"), &chain);
    }
}

#[test]
fn multinomial_draws_afresh_after_a_rewind() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    for source in [Source::Builtin, Source::File(wasm_plugin("logitloom-std-module"))] {
        let chain = load(vec![stage_of(&source, "multinomial", &[])], &opts);
        // Flat logits: each token is the stream's next draw, made visible.
        let flat = |instance: &mut ChainInstance, tokens: &mut Vec<u32>, steps: usize| -> Vec<u32> {
            (0..steps)
                .map(|_| {
                    let mut row = vec![0.0; V];
                    let t = instance.step(tokens, PROMPT, tokens.len() - PROMPT, &mut row).unwrap();
                    tokens.push(t);
                    t
                })
                .collect()
        };
        let mut a = chain.instantiate(&setup(9)).unwrap();
        let mut a_tokens = prompt();
        flat(&mut a, &mut a_tokens, 10);
        a.rewind_to(&a_tokens, PROMPT, PROMPT + 4).unwrap();
        a_tokens.truncate(PROMPT + 4);
        let after = flat(&mut a, &mut a_tokens, 6);
        let mut c = chain.instantiate(&setup(9)).unwrap();
        let mut c_tokens = prompt();
        let straight = flat(&mut c, &mut c_tokens, 16);
        assert_eq!(after, straight[10..], "the stream goes on where it was, it does not replay draws 4..10");
    }
}

/// Drives a chain as the engine does: rewinds drop tokens. Returns the
/// kept tokens and the number of chain calls.
fn generate(instance: &mut ChainInstance, max_new: usize) -> (Vec<u32>, usize) {
    let mut tokens = prompt();
    let mut calls = 0;
    while tokens.len() - PROMPT < max_new {
        calls += 1;
        assert!(calls < 10_000, "generation must end");
        let mut row = row_for(&tokens);
        match instance.decide(&tokens, PROMPT, tokens.len() - PROMPT, &mut row).unwrap() {
            Decision::Token(t) => tokens.push(t),
            Decision::Rewind { to_len } => {
                assert!(to_len >= PROMPT && to_len <= tokens.len());
                tokens.truncate(to_len);
            }
        }
    }
    (tokens, calls)
}

#[test]
fn a_hand_written_wat_module_rewinds_through_the_documented_import() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    let spec = ChainSpec::from_stages(
        vec![stage(&wat("rewind_at_step_3.wat"), "rewind_at_step_3", &[]), StageSpec::builtin("greedy", [])],
        &common::builtins(),
    )
    .unwrap()
    .with_rewind_budget(RewindBudget { max_rewinds: 1, max_discarded_tokens: 10 });
    let chain = spec.load(&opts).unwrap();
    assert!(chain.may_rewind());
    let mut instance = chain.instantiate(&setup(1)).unwrap();
    let (tokens, calls) = generate(&mut instance, 8);
    let events = instance.rewind_events();
    assert!(events[0].granted, "{events:?}");
    assert_eq!((events[0].step, events[0].from_len, events[0].to_len), (3, PROMPT + 3, PROMPT + 2));
    assert_eq!(events[0].stage, "rewind_at_step_3");
    // Greedy would pick the banned token again without the ban.
    let banned = events[0].ban[0];
    let mut greedy = load(vec![StageSpec::builtin("greedy", [])], &opts).instantiate(&setup(1)).unwrap();
    let (straight, _) = generate(&mut greedy, 8);
    assert_eq!(straight[PROMPT + 2], banned);
    assert_ne!(tokens[PROMPT + 2], banned, "the ban applies where generation resumed");
    assert_eq!(&tokens[..PROMPT + 2], &straight[..PROMPT + 2]);
    // Its second request (step 3 again, after the replay) is past the budget.
    assert!(events[1..].iter().all(|e| !e.granted && e.refused.as_deref().unwrap().contains("budget")), "{events:?}");
    assert_eq!(calls, 8 + 1 + 1, "one call for the rewind itself, one to choose the dropped position again");
    assert_eq!(instance.rewind_totals().discarded, 1, "asked in `process`: only the kept token at L+1 was dropped");
}

#[test]
fn rewinds_before_the_prompt_or_past_the_end_fail_the_step_clearly() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    for path in [native_plugin("logitloom-test-plugins"), wasm_plugin("logitloom-test-plugins")] {
        for (mode, expected) in [
            ("before_prompt", "shorter than the prompt (12 tokens)"),
            ("past_end", "past the sequence's current length"),
        ] {
            let chain = load(
                vec![
                    stage(
                        &path,
                        "rewinder",
                        &[("mode", ParamValue::String(mode.into())), ("at_step", ParamValue::Int(2))],
                    ),
                    StageSpec::builtin("greedy", []),
                ],
                &opts,
            );
            let mut instance = chain.instantiate(&setup(1)).unwrap();
            let mut tokens = prompt();
            let mut error = None;
            for _ in 0..5 {
                let mut row = row_for(&tokens);
                match instance.decide(&tokens, PROMPT, tokens.len() - PROMPT, &mut row) {
                    Ok(Decision::Token(t)) => tokens.push(t),
                    Ok(Decision::Rewind { .. }) => panic!("{mode}: granted"),
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                }
            }
            let error = error.unwrap_or_else(|| panic!("{mode} ({}): no error", path.display()));
            assert!(error.contains(expected) && error.contains("rewinder") && error.contains("step 2"), "{error}");
        }
    }
}

#[test]
fn the_budget_and_the_no_repeat_rule_end_every_generation() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    let path = native_plugin("logitloom-test-plugins");
    for (mode, budget) in [
        ("every_step", RewindBudget { max_rewinds: 1000, max_discarded_tokens: 1000 }),
        ("back_one", RewindBudget { max_rewinds: 5, max_discarded_tokens: 1000 }),
        ("back_one", RewindBudget { max_rewinds: 1000, max_discarded_tokens: 7 }),
        ("back_one", RewindBudget::default()),
    ] {
        let spec = ChainSpec::from_stages(
            vec![
                stage(&path, "rewinder", &[("mode", ParamValue::String(mode.into()))]),
                StageSpec::builtin("greedy", []),
            ],
            &common::builtins(),
        )
        .unwrap()
        .with_rewind_budget(budget);
        let mut instance = spec.load(&opts).unwrap().instantiate(&setup(1)).unwrap();
        let (tokens, _) = generate(&mut instance, 30);
        let totals = instance.rewind_totals();
        assert_eq!(tokens.len(), PROMPT + 30);
        assert!(
            totals.granted <= budget.max_rewinds && totals.discarded <= budget.max_discarded_tokens,
            "{mode}: {totals:?}"
        );
        assert!(totals.refused > 0, "{mode}: the stage asks at every step, so some requests are refused");
        if mode == "every_step" {
            // No ban: only the first of each place can be granted.
            assert!(instance.rewind_events().iter().filter(|e| !e.granted).all(|e| e
                .refused
                .as_deref()
                .unwrap()
                .contains("repeats")));
        }
    }
}

#[test]
fn a_caller_that_cannot_rewind_refuses_and_traces_every_request() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    let chain = load(
        vec![StageSpec::builtin("loop_breaker", [("min_span", ParamValue::Int(2))]), StageSpec::builtin("greedy", [])],
        &opts,
    );
    let mut instance = chain.instantiate(&setup(1)).unwrap();
    let mut tokens = prompt();
    // Flat logits make greedy repeat token 0: a loop at once.
    for _ in 0..6 {
        let mut row = vec![0.0; V];
        let t = instance.step(&tokens, PROMPT, tokens.len() - PROMPT, &mut row).unwrap();
        tokens.push(t);
    }
    let events = instance.rewind_events().to_vec();
    assert!(
        !events.is_empty()
            && events.iter().all(|e| !e.granted && e.refused.as_deref() == Some("the caller cannot rewind"))
    );
    let traced = instance.take_observations().into_iter().filter(|o| o.record.get("rewind").is_some()).count();
    assert_eq!(traced, events.len());
}

#[test]
fn the_rewind_table_of_a_chain_file_is_validated_with_its_line() {
    let dir = std::path::Path::new(".");
    let ok = "[rewind]\nmax_rewinds = 3\n\n[[stage]]\nplugin = \"greedy\"\n";
    let spec = ChainSpec::from_toml_str(ok, "c.toml", dir, &common::builtins()).unwrap();
    assert_eq!(spec.rewind_budget(), RewindBudget { max_rewinds: 3, ..RewindBudget::default() });
    let bad = "[[stage]]\nplugin = \"greedy\"\n\n[rewind]\nmax_rewind = 3\n";
    let error = ChainSpec::from_toml_str(bad, "c.toml", dir, &common::builtins()).unwrap_err().to_string();
    assert!(error.starts_with("c.toml:5:") && error.contains("max_rewind"), "{error}");
}
