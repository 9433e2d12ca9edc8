//! The process-wide wasmtime engine, its epoch ticker and the compiled
//! module cache.
//!
//! One engine serves every chain: compiled modules belong to an engine, and
//! one engine means one ticker thread. Deadlines are counted in epochs of
//! [`EPOCH_TICK`]; each call gets `ceil(deadline / tick)` epochs, so it is
//! interrupted between the deadline and one tick later.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, Module};

/// Granularity of WASM deadlines.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

pub(crate) fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).expect("the default wasmtime configuration is valid");
        let ticker = engine.clone();
        std::thread::Builder::new()
            .name("logitloom-wasm-epoch".into())
            .spawn(move || loop {
                std::thread::sleep(EPOCH_TICK);
                ticker.increment_epoch();
            })
            .expect("cannot start the WASM deadline thread");
        engine
    })
}

/// Epochs a call may run for `deadline`.
pub(crate) fn deadline_ticks(deadline: Duration) -> u64 {
    deadline.as_nanos().div_ceil(EPOCH_TICK.as_nanos()).max(1) as u64
}

/// Compiles `bytes` (WASM binary or text), reusing an in-process copy or a
/// serialized one in `cache_dir` when the module and engine are unchanged.
pub(crate) fn compile(bytes: &[u8], cache_dir: Option<&Path>) -> wasmtime::Result<Module> {
    static IN_PROCESS: OnceLock<Mutex<HashMap<String, Module>>> = OnceLock::new();
    let key = cache_key(bytes);
    let memo = IN_PROCESS.get_or_init(Default::default);
    if let Some(module) = memo.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(module.clone());
    }
    let cached_file = cache_dir.map(|dir| dir.join(format!("{key}.cwasm")));
    let module = match cached_file.as_deref().and_then(load_cached) {
        Some(module) => module,
        None => {
            let module = Module::new(engine(), bytes)?;
            if let Some(file) = &cached_file {
                store_cached(&module, file);
            }
            module
        }
    };
    memo.lock().unwrap_or_else(|e| e.into_inner()).insert(key, module.clone());
    Ok(module)
}

/// Module hash plus a hash of everything in the engine that makes compiled
/// code incompatible (wasmtime version, target, settings).
fn cache_key(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine().precompile_compatibility_hash().hash(&mut engine_hash);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{:016x}", engine_hash.finish())
}

fn load_cached(file: &Path) -> Option<Module> {
    if !file.is_file() {
        return None;
    }
    // SAFETY: the file is one this host serialised into its own cache
    // directory; wasmtime still checks it was made by a compatible engine.
    // A corrupt or stale file falls back to compiling.
    unsafe { Module::deserialize_file(engine(), file) }.ok()
}

/// Best effort: a cache that cannot be written only costs compile time.
fn store_cached(module: &Module, file: &Path) {
    let Ok(bytes) = module.serialize() else { return };
    let Some(dir) = file.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    // Write then rename, so a concurrent reader never sees half a file.
    let partial: PathBuf = file.with_extension(format!("partial-{}", std::process::id()));
    if std::fs::write(&partial, bytes).is_ok() && std::fs::rename(&partial, file).is_err() {
        let _ = std::fs::remove_file(&partial);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_to_whole_ticks() {
        assert_eq!(deadline_ticks(Duration::from_millis(100)), 20);
        assert_eq!(deadline_ticks(Duration::from_millis(101)), 21);
        assert_eq!(deadline_ticks(Duration::from_micros(1)), 1);
    }
}
