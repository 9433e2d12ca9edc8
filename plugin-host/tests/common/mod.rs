//! Shared by the integration tests: locating built plugin artifacts and
//! running small chains.
//!
//! Artifacts are found relative to the running test binary
//! (`<target>/<profile>/deps/...`), so `CARGO_TARGET_DIR` and the profile
//! are respected. A missing artifact fails the test with the command that
//! builds it: a skipped test would hide that nothing was checked.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use logitloom_plugin_host::{ChainSpec, HostError, HostOptions, ParamValue, PluginLibrary, SequenceSetup, StageSpec};

/// The programs' built-ins, which the host is handed rather than linking.
pub fn builtins() -> PluginLibrary {
    PluginLibrary::from_entries(logitloom_builtins::entries())
}

/// `<target>/<profile>`: where the workspace build puts native cdylibs.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().and_then(Path::parent).expect("test binaries live in <target>/<profile>/deps").to_path_buf()
}

pub fn native_plugin(package: &str) -> PathBuf {
    let file = format!("{}{}{}", std::env::consts::DLL_PREFIX, package.replace('-', "_"), std::env::consts::DLL_SUFFIX);
    let path = profile_dir().join(file);
    assert!(
        path.is_file(),
        "missing native plugin {}: build it with `./dev.sh cargo build -p {package}` (same profile as the tests) \
         or `cargo build --workspace --all-targets`",
        path.display()
    );
    path
}

pub fn wasm_plugin(package: &str) -> PathBuf {
    let target = profile_dir().parent().expect("profile dir has a parent").to_path_buf();
    let path = target.join("wasm32-unknown-unknown/release").join(format!("{}.wasm", package.replace('-', "_")));
    assert!(
        path.is_file(),
        "missing WASM plugin {}: build it with `./dev.sh cargo build --release --target wasm32-unknown-unknown -p {package}` \
         (`./dev.sh test` does this)",
        path.display()
    );
    path
}

/// A hand-written `.wat` test module.
pub fn wat(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/testing/wat").join(name)
}

/// Options with a private module cache, so tests neither depend on nor
/// pollute the user's cache.
pub fn options(cache: &tempfile::TempDir) -> HostOptions {
    HostOptions { module_cache_dir: Some(cache.path().to_path_buf()), ..HostOptions::default() }
}

pub fn stage(plugin: &Path, processor: &str, params: &[(&str, ParamValue)]) -> StageSpec {
    StageSpec {
        plugin: plugin.display().to_string(),
        processor: Some(processor.to_string()),
        params: params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
    }
}

pub const VOCAB: usize = 64;
pub const EOS: u32 = 63;

/// A fixed, varied logits row.
pub fn logits_row(step: usize) -> Vec<f32> {
    (0..VOCAB).map(|i| ((i * 7 + step * 3) % 13) as f32 * 0.25 - 1.0).collect()
}

/// Loads `stages`, runs `steps` steps greedily from a 3-token prompt and
/// returns the chosen tokens.
pub fn run_chain(stages: Vec<StageSpec>, opts: &HostOptions, steps: usize) -> Result<Vec<u32>, HostError> {
    let chain = ChainSpec::from_stages(stages, &builtins())?.load(opts)?;
    let mut instance =
        chain.instantiate(&SequenceSetup { vocab_size: VOCAB, eos_token_id: EOS, seed: 7, token_bytes: None })?;
    let mut tokens = vec![1, 2, 3];
    for step in 0..steps {
        let mut logits = logits_row(step);
        let token = instance.step(&tokens, 3, step, &mut logits)?;
        tokens.push(token);
    }
    Ok(tokens[3..].to_vec())
}
