//! A source of processors: the built-in registry, a native library or a
//! WASM module. What `plugins list` shows and what chain stages resolve to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use logitloom_plugin_api::{InterfaceVersion, ProcessorEntry, ProcessorInfo, Setup, INTERFACE_VERSION};

use crate::error::{HostError, StageFailure};
use crate::native::NativeLibrary;
use crate::options::HostOptions;
use crate::origin::{PluginKind, PluginOrigin};
use crate::runner::{InProcessRunner, StageRunner};
use crate::wasm::WasmLibrary;

#[derive(Clone)]
enum Source {
    Builtin(Arc<Vec<ProcessorEntry>>),
    Native(NativeLibrary),
    Wasm(Arc<WasmLibrary>),
}

/// A loaded plugin library and the processors it exports.
#[derive(Clone)]
pub struct PluginLibrary {
    source: Source,
    processors: Vec<ProcessorInfo>,
}

impl std::fmt::Debug for PluginLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.processors.iter().map(|p| p.name.as_str()).collect();
        f.debug_struct("PluginLibrary").field("source", &self.describe()).field("processors", &names).finish()
    }
}

/// Whether `path` names a WASM module (by extension) rather than a native
/// library.
pub fn is_wasm_path(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("wasm" | "wat"))
}

/// Whether a stage's `plugin` string is a file rather than a built-in name.
pub fn looks_like_path(plugin: &str) -> bool {
    let path = Path::new(plugin);
    plugin.contains(std::path::MAIN_SEPARATOR)
        || plugin.contains('/')
        || matches!(path.extension().and_then(|e| e.to_str()), Some("so" | "dylib" | "dll" | "wasm" | "wat"))
}

impl PluginLibrary {
    /// A registry of in-process processors: the programs' built-ins
    /// (`logitloom_builtins::entries()`), or test doubles.
    pub fn from_entries(entries: Vec<ProcessorEntry>) -> PluginLibrary {
        let processors = entries.iter().map(|e| (e.info)()).collect();
        PluginLibrary { source: Source::Builtin(Arc::new(entries)), processors }
    }

    /// Loads a native library or (by extension `.wasm`/`.wat`) a WASM
    /// module, checking its interface version and exports.
    pub fn open(path: &Path, opts: &HostOptions) -> Result<PluginLibrary, HostError> {
        if !path.is_file() {
            return Err(HostError::Load { path: path.to_path_buf(), message: "no such file".into() });
        }
        if is_wasm_path(path) {
            let cache = opts.cache_dir();
            let library = WasmLibrary::open(path, opts.wasm_deadline, opts.wasm_memory_limit_bytes, cache.as_deref())?;
            Ok(PluginLibrary { processors: library.processors.clone(), source: Source::Wasm(Arc::new(library)) })
        } else {
            let library = NativeLibrary::open(path)?;
            Ok(PluginLibrary { processors: library.processors.clone(), source: Source::Native(library) })
        }
    }

    pub fn kind(&self) -> PluginKind {
        match self.source {
            Source::Builtin(_) => PluginKind::Builtin,
            Source::Native(_) => PluginKind::Native,
            Source::Wasm(_) => PluginKind::Wasm,
        }
    }

    /// The file it came from; `None` for built-ins.
    pub fn path(&self) -> Option<&Path> {
        match &self.source {
            Source::Builtin(_) => None,
            Source::Native(l) => Some(&l.path),
            Source::Wasm(l) => Some(&l.path),
        }
    }

    /// What the library declared; built-ins are always the host's version.
    pub fn interface_version(&self) -> InterfaceVersion {
        match &self.source {
            Source::Wasm(l) => l.interface,
            _ => INTERFACE_VERSION,
        }
    }

    pub fn processors(&self) -> &[ProcessorInfo] {
        &self.processors
    }

    /// How errors name this library: the file, or `builtin`.
    pub fn describe(&self) -> String {
        self.origin().to_string()
    }

    /// Where the library came from, as errors carry it.
    pub fn origin(&self) -> PluginOrigin {
        PluginOrigin { kind: self.kind(), path: self.path().map(Path::to_path_buf) }
    }

    /// A processor's index by name.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.processors.iter().position(|p| p.name == name)
    }

    /// Creates processor `index` for one sequence. `params` must already be
    /// validated; they travel to plugins as the JSON `params_json`.
    pub(crate) fn create(
        &self,
        index: usize,
        params: &std::collections::BTreeMap<String, logitloom_plugin_api::ParamValue>,
        params_json: &str,
        setup: &Setup<'_>,
        observe: crate::limits::ObserveLimits,
    ) -> Result<Box<dyn StageRunner>, StageFailure> {
        match &self.source {
            Source::Builtin(entries) => {
                let create = entries[index].create;
                let processor = std::panic::catch_unwind(|| create(params, setup))
                    .map_err(|p| StageFailure::Panic(logitloom_plugin_api::ffi::panic_message(&*p)))?
                    .map_err(|e| StageFailure::Error(e.message))?;
                Ok(Box::new(InProcessRunner { processor }))
            }
            Source::Native(library) => Ok(Box::new(library.create(index, params_json, setup)?)),
            Source::Wasm(library) => {
                Ok(Box::new(library.create(index, &self.processors[index], params_json, setup, observe)?))
            }
        }
    }
}

/// Where `plugins list` looks: each entry of `$LOGITLOOM_PLUGIN_PATH`
/// (colon-separated), then `~/.local/share/logitloom/plugins`.
pub fn default_plugin_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("LOGITLOOM_PLUGIN_PATH")
        .map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".local/share/logitloom/plugins"));
    }
    dirs
}

/// Plugin files (by extension) directly inside `dir`, sorted.
pub fn plugin_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("so" | "dylib" | "dll" | "wasm" | "wat")))
        .collect();
    files.sort();
    files
}
