//! Host settings.

use std::path::PathBuf;
use std::time::Duration;

/// How plugins are hosted.
#[derive(Clone, Debug)]
pub struct HostOptions {
    /// Longest a single call into a WASM plugin may run before it is
    /// interrupted. Native plugins are trusted and cannot be interrupted.
    pub wasm_deadline: Duration,
    /// Most linear memory one WASM instance may grow to.
    pub wasm_memory_limit_bytes: usize,
    /// Where compiled WASM modules are cached; `None` uses
    /// [`default_module_cache_dir`].
    pub module_cache_dir: Option<PathBuf>,
    /// After every stage, refuse logits with a NaN or with every token at
    /// `-inf` (each is a bug that would otherwise surface as garbage text).
    pub check_logits: bool,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            wasm_deadline: Duration::from_millis(100),
            wasm_memory_limit_bytes: 256 << 20,
            module_cache_dir: None,
            check_logits: true,
        }
    }
}

/// `$XDG_CACHE_HOME/logitloom/wasm`, else `~/.cache/logitloom/wasm`; `None`
/// when neither variable is set (then modules are compiled at every start).
pub fn default_module_cache_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
    };
    Some(base.join("logitloom").join("wasm"))
}

impl HostOptions {
    pub(crate) fn cache_dir(&self) -> Option<PathBuf> {
        self.module_cache_dir.clone().or_else(default_module_cache_dir)
    }
}
