//! Drives valid WASM modules' exports through the host with random
//! arguments: token lists of any length and content, prompt lengths and
//! steps that need not agree with them, logits rows with NaN/inf, in random
//! orders of step and rewind. The host either runs the call or fails it
//! with an error; it never panics.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use logitloom_plugin_host::{ChainSpec, Decision, HostOptions, LoadedChain, ParamValue, PluginLibrary, SequenceSetup, StageSpec};

const VOCAB: usize = 32;

fn wat(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/testing/wat").join(name).display().to_string()
}

fn chains() -> &'static Vec<LoadedChain> {
    static CHAINS: OnceLock<Vec<LoadedChain>> = OnceLock::new();
    CHAINS.get_or_init(|| {
        let opts = HostOptions { wasm_deadline: std::time::Duration::from_millis(50), ..HostOptions::default() };
        let file = |name: &str, processor: &str, params: Vec<(&str, ParamValue)>| StageSpec {
            plugin: wat(name),
            processor: Some(processor.into()),
            params: params.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        };
        let specs = vec![
            vec![file("ban_eos.wat", "ban_eos", vec![]), StageSpec::builtin("greedy", [])],
            vec![
                StageSpec::builtin("top_k", [("k", ParamValue::Int(5))]),
                file("rewind_at_step_3.wat", "rewind_at_step_3", vec![]),
                file("ban_eos.wat", "ban_eos", vec![]),
                StageSpec::builtin("multinomial", []),
            ],
        ];
        specs.into_iter().map(|s| ChainSpec::from_stages(s, &PluginLibrary::from_entries(logitloom_builtins::entries())).unwrap().load(&opts).unwrap()).collect()
    })
}

#[derive(Arbitrary, Debug)]
struct Call {
    tokens: Vec<u32>,
    prompt_len: u16,
    step: u16,
    logits: Vec<f32>,
    decide: bool,
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(which) = u.int_in_range(0..=chains().len() - 1) else { return };
    let Ok(seed) = u64::arbitrary(&mut u) else { return };
    let Ok(calls) = Vec::<Call>::arbitrary(&mut u) else { return };
    let chain = &chains()[which];
    let setup = SequenceSetup { vocab_size: VOCAB, eos_token_id: (VOCAB - 1) as u32, seed, token_bytes: None };
    let Ok(mut instance) = chain.instantiate(&setup) else { return };
    for call in calls.into_iter().take(16) {
        let mut logits: Vec<f32> = (0..VOCAB).map(|i| call.logits.get(i).copied().unwrap_or(i as f32)).collect();
        let result = if call.decide {
            instance.decide(&call.tokens, call.prompt_len as usize, call.step as usize, &mut logits).map(|d| match d {
                Decision::Token(t) => t,
                Decision::Rewind { to_len } => to_len as u32,
            })
        } else {
            instance.step(&call.tokens, call.prompt_len as usize, call.step as usize, &mut logits)
        };
        let _ = instance.take_observations();
        if result.is_err() {
            break;
        }
    }
});
