//! The standard processors give bit-identical logits, identical tokens and
//! identical observations whether they run built in, from the native
//! std-module or from its WASM build, over hundreds of random steps.

mod common;

use std::sync::Arc;

use common::*;
use logitloom_plugin_host::{
    ChainSpec, HostOptions, LoadedChain, OwnedTokenBytes, ParamValue, SequenceSetup, StageSpec,
};

use logitloom_numerics::SplitMix64 as Rng;

/// A row with the awkward cases: ties (values on a coarse grid), a few
/// masked tokens, a wide range.
fn random_row(rng: &mut Rng, vocab: usize) -> Vec<f32> {
    (0..vocab)
        .map(|_| match rng.below(20) {
            0 => f32::NEG_INFINITY,
            1..=4 => (rng.below(8) as f32) * 0.5,
            _ => rng.next_f32() * 16.0 - 8.0,
        })
        .collect()
}

/// Token strings with newlines and colons sprinkled in, so DRY's sequence
/// breakers matter.
fn token_bytes(vocab: usize) -> Arc<OwnedTokenBytes> {
    let tokens: Vec<Vec<u8>> = (0..vocab)
        .map(|i| match i % 17 {
            0 => b"\n".to_vec(),
            5 => format!("a{i}:").into_bytes(),
            _ => format!("t{i}").into_bytes(),
        })
        .collect();
    Arc::new(OwnedTokenBytes::from_tokens(&tokens))
}

/// The three ways to host one stage followed by (for processors) greedy.
fn chains(processor: &str, params: &[(&str, ParamValue)], opts: &HostOptions) -> Vec<(String, LoadedChain)> {
    let is_sampler = matches!(processor, "greedy" | "multinomial");
    let sources = [
        ("builtin".to_string(), None),
        ("native".to_string(), Some(native_plugin("logitloom-std-module"))),
        ("wasm".to_string(), Some(wasm_plugin("logitloom-std-module"))),
    ];
    sources
        .into_iter()
        .map(|(label, file)| {
            let make = |name: &str, params: &[(&str, ParamValue)]| match &file {
                Some(path) => stage(path, name, params),
                None => StageSpec {
                    plugin: name.to_string(),
                    processor: None,
                    params: params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
                },
            };
            let mut stages = vec![make(processor, params)];
            if !is_sampler {
                stages.push(make("greedy", &[]));
            }
            let chain = ChainSpec::from_stages(stages, &common::builtins())
                .unwrap()
                .load(opts)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            (label, chain)
        })
        .collect()
}

/// Runs `sequences` sequences of `steps` steps through each host and
/// asserts every logit bit, token and observation agrees.
fn assert_equivalent(processor: &str, params: &[(&str, ParamValue)], vocab: usize, sequences: u64, steps: usize) {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    let chains = chains(processor, params, &opts);
    let bytes = token_bytes(vocab);
    for sequence in 0..sequences {
        let setup = SequenceSetup {
            vocab_size: vocab,
            eos_token_id: 0,
            seed: 1000 + sequence,
            token_bytes: Some(bytes.clone()),
        };
        let mut instances: Vec<_> = chains.iter().map(|(_, c)| c.instantiate(&setup).unwrap()).collect();
        let mut rng = Rng::new(sequence);
        // Few distinct prompt tokens, so penalties and n-gram bans trigger.
        let mut tokens: Vec<u32> = (0..12).map(|_| rng.below(24) as u32).collect();
        for step in 0..steps {
            let row = random_row(&mut rng, vocab);
            let mut results = Vec::new();
            for ((label, _), instance) in chains.iter().zip(instances.iter_mut()) {
                let mut logits = row.clone();
                let token = instance
                    .step(&tokens, 12, step, &mut logits)
                    .unwrap_or_else(|e| panic!("{processor} {label} sequence {sequence} step {step}: {e}"));
                let bits: Vec<u32> = logits.iter().map(|x| x.to_bits()).collect();
                results.push((label, token, bits, instance.take_observations()));
            }
            let (_, token0, bits0, obs0) = &results[0];
            for (label, token, bits, obs) in &results[1..] {
                let context = format!("{processor} via {label} vs builtin, sequence {sequence} step {step}");
                assert_eq!(token, token0, "{context}: chosen token");
                if let Some(i) = (0..vocab).find(|&i| bits[i] != bits0[i]) {
                    panic!("{context}: logit {i} is {} vs {}", f32::from_bits(bits[i]), f32::from_bits(bits0[i]));
                }
                assert_eq!(obs, obs0, "{context}: observations");
            }
            // Mostly the chosen token, sometimes a recent one, so repeats occur.
            let next = if rng.below(3) == 0 { tokens[tokens.len() - 2] } else { *token0 };
            tokens.push(next);
        }
    }
}

const VOCAB_SMALL: usize = 2_000;

fn f(x: f64) -> ParamValue {
    ParamValue::Float(x)
}
fn i(x: i64) -> ParamValue {
    ParamValue::Int(x)
}

#[test]
fn temperature() {
    assert_equivalent("temperature", &[("temperature", f(0.7))], VOCAB_SMALL, 20, 10);
}

#[test]
fn top_k() {
    assert_equivalent("top_k", &[("k", i(40))], VOCAB_SMALL, 20, 10);
}

#[test]
fn top_p() {
    assert_equivalent("top_p", &[("p", f(0.9))], VOCAB_SMALL, 20, 10);
}

#[test]
fn min_p() {
    assert_equivalent("min_p", &[("p", f(0.05))], VOCAB_SMALL, 20, 10);
}

#[test]
fn repetition_penalty() {
    assert_equivalent("repetition_penalty", &[("penalty", f(1.3)), ("window", i(16))], VOCAB_SMALL, 20, 10);
}

#[test]
fn frequency_presence_penalty() {
    assert_equivalent(
        "frequency_presence_penalty",
        &[("frequency", f(0.5)), ("presence", f(0.3))],
        VOCAB_SMALL,
        20,
        10,
    );
}

#[test]
fn no_repeat_ngram() {
    assert_equivalent("no_repeat_ngram", &[("n", i(2))], VOCAB_SMALL, 20, 10);
}

#[test]
fn dry() {
    assert_equivalent("dry", &[("multiplier", f(0.8)), ("allowed_length", i(1))], VOCAB_SMALL, 20, 10);
}

#[test]
fn entropy_logger() {
    assert_equivalent("entropy_logger", &[("top_n", i(5))], VOCAB_SMALL, 20, 10);
}

#[test]
fn greedy() {
    assert_equivalent("greedy", &[], VOCAB_SMALL, 20, 10);
}

#[test]
fn multinomial() {
    assert_equivalent("multinomial", &[], VOCAB_SMALL, 20, 10);
    assert_equivalent("multinomial", &[("seed", i(42))], VOCAB_SMALL, 5, 10);
}

#[test]
fn full_vocabulary_conservative_stages() {
    assert_equivalent("top_p", &[("p", f(0.95))], 50_257, 2, 5);
    assert_equivalent("repetition_penalty", &[("penalty", f(1.15))], 50_257, 2, 5);
}

/// Chains that mix hosts move the row between a module's memory and the
/// host (WASM stages work on a copy inside their module; other stages read
/// it wherever it is). Whatever the mix, and whether the row comes in
/// through `step` or is written straight into `input_row`, the tokens and
/// the final row must be those of the all-builtin chain.
#[test]
fn mixed_host_chains_agree_with_builtin_whichever_way_the_row_comes_in() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(&cache);
    let (native, wasm) = (native_plugin("logitloom-std-module"), wasm_plugin("logitloom-std-module"));
    let builtin = |name: &str, params: &[(&str, ParamValue)]| StageSpec {
        plugin: name.to_string(),
        processor: None,
        params: params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
    };
    let pipeline: [(&str, Vec<(&str, ParamValue)>); 6] = [
        ("repetition_penalty", vec![("penalty", f(1.3))]),
        ("top_k", vec![("k", i(200))]),
        ("temperature", vec![("temperature", f(0.9))]),
        ("top_p", vec![("p", f(0.9))]),
        ("min_p", vec![("p", f(0.02))]),
        ("multinomial", vec![]),
    ];
    // Which host runs each stage: WASM first (the row is written into the
    // module), WASM between natives, two WASM stages in a row (module to
    // module), a WASM sampler after a builtin, and all WASM.
    let mixes = ["wbbwwb", "nwnbwn", "bwwnbw", "wwwwww", "nnbnnw"];
    let vocab = 3_000;
    let bytes = token_bytes(vocab);
    let reference = ChainSpec::from_stages(pipeline.iter().map(|(n, p)| builtin(n, p)).collect(), &common::builtins())
        .unwrap()
        .load(&opts)
        .unwrap();
    for mix in mixes {
        let stages = pipeline
            .iter()
            .zip(mix.chars())
            .map(|((name, params), host)| match host {
                'w' => stage(&wasm, name, params),
                'n' => stage(&native, name, params),
                _ => builtin(name, params),
            })
            .collect();
        let chain = ChainSpec::from_stages(stages, &common::builtins()).unwrap().load(&opts).unwrap();
        let setup = SequenceSetup { vocab_size: vocab, eos_token_id: 0, seed: 77, token_bytes: Some(bytes.clone()) };
        let mut expected = reference.instantiate(&setup).unwrap();
        let mut through_step = chain.instantiate(&setup).unwrap();
        let mut through_input_row = chain.instantiate(&setup).unwrap();
        let mut rng = Rng::new(0x5eed ^ mix.len() as u64);
        let mut tokens: Vec<u32> = (0..8).map(|_| rng.below(30) as u32).collect();
        for step in 0..25 {
            let row = random_row(&mut rng, vocab);
            let mut want = row.clone();
            let token = expected.step(&tokens, 8, step, &mut want).unwrap();
            let mut got = row.clone();
            assert_eq!(through_step.step(&tokens, 8, step, &mut got).unwrap(), token, "{mix} step {step}: step()");
            let bits = |r: &[f32]| r.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{mix} step {step}: the row step() leaves behind");
            through_input_row.input_row().copy_from_slice(&row);
            let via_input = through_input_row.step_input_row(&tokens, 8, step).unwrap();
            assert_eq!(via_input, token, "{mix} step {step}: step_input_row()");
            tokens.push(if rng.below(3) == 0 { tokens[tokens.len() - 2] } else { token });
        }
    }
}
