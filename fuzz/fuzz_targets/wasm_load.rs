//! The WASM plugin loader on generated modules. wasm-smith is told to
//! export the logitloom ABI names with their signatures (and may import
//! `logitloom.observe`/`rewind`), so the loader gets past its first checks
//! and runs the module's version, describe and, when describe parses, a
//! short chain. Whatever the module does, the host refuses it with an error
//! or runs it; it never panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use logitloom_plugin_host::{ChainSpec, HostOptions, PluginLibrary, SequenceSetup, StageSpec};

const IMPORTS: &str = r#"(module
  (import "logitloom" "observe" (func (param i32 i32)))
  (import "logitloom" "rewind" (func (param i32 i32 i32))))"#;

const EXPORTS: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "logitloom_interface_version") (result i32) unreachable)
  (func (export "logitloom_describe") (result i64) unreachable)
  (func (export "logitloom_last_error") (result i64) unreachable)
  (func (export "logitloom_alloc") (param i32 i32) (result i32) unreachable)
  (func (export "logitloom_create") (param i32 i32 i32 i32 i32 i64 i32 i32 i32 i32) (result i32) unreachable)
  (func (export "logitloom_process") (param i32 i32 i32 i32 i32 i32 i32) (result i32) unreachable)
  (func (export "logitloom_sample") (param i32 i32 i32 i32 i32 i32 i32) (result i64) unreachable)
  (func (export "logitloom_accept") (param i32 i32 i32 i32 i32 i32) (result i32) unreachable)
  (func (export "logitloom_rollback") (param i32) (result i32) unreachable))"#;

fn shapes() -> &'static (Vec<u8>, Vec<u8>) {
    static SHAPES: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    SHAPES.get_or_init(|| (wat::parse_str(IMPORTS).unwrap(), wat::parse_str(EXPORTS).unwrap()))
}

fn options() -> HostOptions {
    HostOptions {
        wasm_deadline: std::time::Duration::from_millis(10),
        wasm_memory_limit_bytes: 16 << 20,
        module_cache_dir: Some(std::env::temp_dir().join("logitloom-fuzz-nocache-dir-unused")),
        ..HostOptions::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(mut config) = wasm_smith::Config::arbitrary(&mut u) else { return };
    let (imports, exports) = shapes();
    config.available_imports = Some(imports.clone());
    config.exports = Some(exports.clone());
    config.max_memory32_bytes = 1 << 24;
    config.max_memories = 1;
    config.memory64_enabled = false;
    config.threads_enabled = false;
    config.shared_everything_threads_enabled = false;
    config.gc_enabled = false;
    config.exceptions_enabled = false;
    let Ok(module) = wasm_smith::Module::new(config, &mut u) else { return };
    let bytes = module.to_bytes();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.wasm");
    std::fs::write(&path, &bytes).unwrap();
    let opts = options();
    let Ok(library) = PluginLibrary::open(&path, &opts) else { return };
    // A module that describes itself: run its first processor for a few steps
    // with defaults (a required parameter just makes load refuse it).
    let Some(info) = library.processors().first() else { return };
    let mut stages = vec![StageSpec { plugin: path.display().to_string(), processor: Some(info.name.clone()), params: Default::default() }];
    if info.kind == logitloom_plugin_host::StageKind::Processor {
        stages.push(StageSpec::builtin("greedy", []));
    }
    let Ok(spec) = ChainSpec::from_stages(stages, &PluginLibrary::from_entries(logitloom_builtins::entries())) else { return };
    let Ok(chain) = spec.load(&opts) else { return };
    let setup = SequenceSetup { vocab_size: 16, eos_token_id: 15, seed: 1, token_bytes: None };
    let Ok(mut instance) = chain.instantiate(&setup) else { return };
    let mut tokens = vec![1u32, 2];
    for step in 0..3 {
        let mut logits: Vec<f32> = (0..16).map(|i| i as f32).collect();
        match instance.step(&tokens, 2, step, &mut logits) {
            Ok(t) => tokens.push(t),
            Err(_) => break,
        }
        let _ = instance.take_observations();
    }
});
