//! What both benchmarks share: the std-module artifacts, chain loading,
//! and a seeded 50,257-token row with a 512-token history.

#![allow(dead_code)] // each bench uses a different part

use std::path::{Path, PathBuf};
use std::sync::Arc;

use logitloom_plugin_host::{
    ChainSpec, HostOptions, LoadedChain, OwnedTokenBytes, ParamValue, PluginLibrary, SequenceSetup, StageSpec,
};

pub const VOCAB: usize = 50_257;

pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

pub fn artifact(wasm: bool) -> PathBuf {
    let path = if wasm {
        profile_dir().parent().unwrap().join("wasm32-unknown-unknown/release/logitloom_std_module.wasm")
    } else {
        profile_dir().join(format!(
            "{}logitloom_std_module{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ))
    };
    assert!(
        path.is_file(),
        "missing {}: see the build commands at the top of plugin-host/benches/processors.rs",
        path.display()
    );
    path
}

pub fn stage(source: &str, name: &str, params: &[(&str, ParamValue)]) -> StageSpec {
    let params = params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    match source {
        "builtin" => StageSpec { plugin: name.into(), processor: None, params },
        other => {
            StageSpec { plugin: artifact(other == "wasm").display().to_string(), processor: Some(name.into()), params }
        }
    }
}

pub fn load(stages: Vec<StageSpec>) -> LoadedChain {
    let opts = HostOptions { check_logits: false, ..HostOptions::default() };
    ChainSpec::from_stages(stages, &PluginLibrary::from_entries(logitloom_builtins::entries()))
        .unwrap()
        .load(&opts)
        .unwrap()
}

pub struct Inputs {
    pub row: Vec<f32>,
    pub tokens: Vec<u32>,
    pub setup: SequenceSetup,
}

pub fn inputs() -> Inputs {
    let mut rng = logitloom_numerics::SplitMix64::new(0x2545_f491_4f6c_dd1d);
    let mut next = move || rng.next_u64();
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

/// Every standard processor with the parameters the tables report.
pub fn processor_cases() -> Vec<(&'static str, Vec<(&'static str, ParamValue)>)> {
    let f = ParamValue::Float;
    let i = ParamValue::Int;
    vec![
        ("temperature", vec![("temperature", f(0.8))]),
        ("top_k", vec![("k", i(40))]),
        ("top_p", vec![("p", f(0.95))]),
        ("min_p", vec![("p", f(0.05))]),
        ("repetition_penalty", vec![("penalty", f(1.15))]),
        ("frequency_presence_penalty", vec![("frequency", f(0.3)), ("presence", f(0.3))]),
        ("no_repeat_ngram", vec![("n", i(3))]),
        ("dry", vec![]),
        ("entropy_logger", vec![]),
    ]
}

/// The `conservative` preset's stages, all hosted by `source`.
pub fn conservative_chain(source: &str) -> Vec<StageSpec> {
    vec![
        stage(source, "repetition_penalty", &[("penalty", ParamValue::Float(1.15))]),
        stage(source, "top_k", &[("k", ParamValue::Int(40))]),
        stage(source, "top_p", &[("p", ParamValue::Float(0.95))]),
        stage(source, "multinomial", &[]),
    ]
}
