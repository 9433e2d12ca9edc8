//! Chain configs: TOML in, a validated [`ChainSpec`] out.
//!
//! ```toml
//! [[stage]]
//! plugin = "repetition_penalty"   # a built-in ...
//! penalty = 1.15                  # ... and its parameters, inline
//!
//! [[stage]]
//! path = "plugins/my_filter.wasm" # ... or a plugin file, relative to this file
//! processor = "my_filter"         # needed only when the file exports several
//!
//! [[stage]]
//! plugin = "multinomial"          # exactly one sampler, last
//! ```
//!
//! Parameters sit inline in the stage table (the keys `plugin`, `path` and
//! `processor` are reserved), which keeps presets short. The file is parsed
//! with spans (ripgrep style: raw, located form first, typed form second),
//! so every error names the file, the line, the stage and the parameter.
//! Built-in stages are checked while parsing; plugin files are checked by
//! [`ChainSpec::load`], still before any token is generated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use logitloom_plugin_api::{ParamValue, Params, StageKind};
use serde::Deserialize;
use toml::Spanned;

use crate::chain::LoadedChain;
use crate::error::{ChainError, HostError, Location};
use crate::library::{looks_like_path, PluginLibrary};
use crate::limits::{ObserveLimits, MAX_PARAMS_JSON_BYTES};
use crate::options::HostOptions;
use crate::stage::{ResolvedStage, RewindBudget};

/// One stage as written: a built-in name or a plugin path, an optional
/// processor name (for libraries exporting several) and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct StageSpec {
    /// A built-in name (`top_k`), or a path to a `.so`/`.wasm`/`.wat`.
    pub plugin: String,
    pub processor: Option<String>,
    pub params: BTreeMap<String, ParamValue>,
}

impl StageSpec {
    /// A built-in stage with parameters, for chains built in code.
    pub fn builtin(name: &str, params: impl IntoIterator<Item = (&'static str, ParamValue)>) -> StageSpec {
        StageSpec {
            plugin: name.to_string(),
            processor: None,
            params: params.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }
}

/// Where each stage and key was written, for error messages.
#[derive(Clone, Debug, Default)]
struct StageLines {
    /// How the user wrote the plugin (relative path or name).
    written: String,
    table: Option<usize>,
    keys: BTreeMap<String, usize>,
}

/// A parsed chain that knows where it came from, and which built-ins its
/// `plugin = "..."` names resolve to.
#[derive(Clone, Debug)]
pub struct ChainSpec {
    stages: Vec<StageSpec>,
    origin: String,
    lines: Vec<StageLines>,
    rewind: RewindBudget,
    observe: ObserveLimits,
    builtins: PluginLibrary,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChain {
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    rewind: Option<RewindBudget>,
    #[serde(default)]
    observe: Option<ObserveLimits>,
    #[serde(default)]
    stage: Vec<Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>>,
}

const RESERVED: [&str; 3] = ["plugin", "path", "processor"];

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

impl ChainSpec {
    /// Reads and checks a chain file. `builtins` is the registry that
    /// `plugin = "..."` names resolve to (the host links none of its own;
    /// programs pass `logitloom_builtins::entries()`).
    pub fn from_file(path: &Path, builtins: &PluginLibrary) -> Result<ChainSpec, ChainError> {
        let text =
            std::fs::read_to_string(path).map_err(|cause| ChainError::Read { path: path.to_path_buf(), cause })?;
        let base = path.parent().unwrap_or(Path::new("."));
        ChainSpec::from_toml_str(&text, &path.display().to_string(), base, builtins)
    }

    /// Parses a chain config. `origin` names it in errors; relative plugin
    /// paths are resolved against `base_dir`.
    pub fn from_toml_str(
        text: &str,
        origin: &str,
        base_dir: &Path,
        builtins: &PluginLibrary,
    ) -> Result<ChainSpec, ChainError> {
        let raw: RawChain = toml::from_str(text).map_err(|e| ChainError::Syntax {
            origin: origin.to_string(),
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            message: e.message().trim().to_string(),
        })?;
        let mut stages = Vec::new();
        let mut lines = Vec::new();
        let rewind = raw.rewind.unwrap_or_default();
        let observe = raw.observe.unwrap_or_default();
        for (i, table) in raw.stage.into_iter().enumerate() {
            let table_line = line_of(text, table.span().start);
            let mut stage_lines = StageLines { table: Some(table_line), ..Default::default() };
            let mut plugin = None;
            let mut path = None;
            let mut processor = None;
            let mut params = BTreeMap::new();
            for (key, value) in table.into_inner() {
                let line = line_of(text, key.span().start);
                let key = key.into_inner();
                stage_lines.keys.insert(key.clone(), line);
                let at = |written: &str| Location {
                    origin: origin.to_string(),
                    line: Some(line),
                    stage: i + 1,
                    plugin: written.to_string(),
                };
                let value = value.into_inner();
                if RESERVED.contains(&key.as_str()) {
                    let toml::Value::String(s) = value else {
                        return Err(ChainError::Invalid { at: at("?"), message: format!("`{key}` must be a string") });
                    };
                    match key.as_str() {
                        "plugin" => plugin = Some(s),
                        "path" => path = Some(s),
                        _ => processor = Some(s),
                    }
                } else {
                    let value = param_value(&value).ok_or_else(|| ChainError::Invalid {
                        at: at("?"),
                        message: format!(
                            "parameter `{key}` = {value}: only numbers, booleans, strings and lists of strings are supported"
                        ),
                    })?;
                    params.insert(key, value);
                }
            }
            let stage_at = |written: &str| Location {
                origin: origin.to_string(),
                line: Some(table_line),
                stage: i + 1,
                plugin: written.to_string(),
            };
            let plugin = match (plugin, path) {
                (Some(name), None) => {
                    stage_lines.written = name.clone();
                    if looks_like_path(&name) {
                        return Err(ChainError::Invalid {
                            at: stage_at(&name),
                            message: format!("`plugin` names a built-in; write `path = \"{name}\"` for a plugin file"),
                        });
                    }
                    name
                }
                (None, Some(path)) => {
                    stage_lines.written = path.clone();
                    base_dir.join(&path).display().to_string()
                }
                (Some(_), Some(_)) => {
                    return Err(ChainError::Invalid {
                        at: stage_at("?"),
                        message: "give either `plugin` (a built-in) or `path` (a plugin file), not both".into(),
                    })
                }
                (None, None) => {
                    return Err(ChainError::Invalid {
                        at: stage_at("?"),
                        message: "missing `plugin = \"<built-in>\"` or `path = \"<file>\"`".into(),
                    })
                }
            };
            stages.push(StageSpec { plugin, processor, params });
            lines.push(stage_lines);
        }
        let spec = ChainSpec { stages, origin: origin.to_string(), lines, rewind, observe, builtins: builtins.clone() };
        spec.check_builtins()?;
        Ok(spec)
    }

    /// A chain built in code (e.g. from `--temperature`/`--top-k` flags);
    /// errors name the origin `command line`.
    pub fn from_stages(stages: Vec<StageSpec>, builtins: &PluginLibrary) -> Result<ChainSpec, ChainError> {
        let lines = stages.iter().map(|s| StageLines { written: s.plugin.clone(), ..Default::default() }).collect();
        let spec = ChainSpec {
            stages,
            origin: "command line".to_string(),
            lines,
            rewind: RewindBudget::default(),
            observe: ObserveLimits::default(),
            builtins: builtins.clone(),
        };
        spec.check_builtins()?;
        Ok(spec)
    }

    pub fn stages(&self) -> &[StageSpec] {
        &self.stages
    }

    /// Each sequence's rewind budget (`[rewind]`, or the defaults).
    pub fn rewind_budget(&self) -> RewindBudget {
        self.rewind
    }

    /// The same chain with another rewind budget.
    pub fn with_rewind_budget(mut self, rewind: RewindBudget) -> ChainSpec {
        self.rewind = rewind;
        self
    }

    /// What each stage may observe per step (`[observe]`, or the defaults).
    pub fn observe_limits(&self) -> ObserveLimits {
        self.observe
    }

    /// The same chain with other observation limits.
    pub fn with_observe_limits(mut self, observe: ObserveLimits) -> ChainSpec {
        self.observe = observe;
        self
    }

    /// The file (or `command line`) this chain came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Location of stage `i`, at the line of `key` if it was written, else
    /// at the stage's table.
    fn at(&self, i: usize, key: Option<&str>) -> Location {
        let lines = &self.lines[i];
        Location {
            origin: self.origin.clone(),
            line: key.and_then(|k| lines.keys.get(k).copied()).or(lines.table),
            stage: i + 1,
            plugin: lines.written.clone(),
        }
    }

    /// Everything that can be checked without loading plugin files: empty
    /// chain, unknown built-ins, their parameters, missing files.
    fn check_builtins(&self) -> Result<(), ChainError> {
        if self.stages.is_empty() {
            return Err(ChainError::Empty { origin: self.origin.clone() });
        }
        let mut kinds = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            if looks_like_path(&stage.plugin) {
                if !Path::new(&stage.plugin).is_file() {
                    return Err(ChainError::MissingFile {
                        at: self.at(i, Some("path")),
                        path: PathBuf::from(&stage.plugin),
                    });
                }
                kinds.push(None);
            } else {
                let resolved = self.resolve_stage(i, &self.builtins)?;
                kinds.push(Some(resolved.kind));
            }
        }
        self.check_sampler(&kinds)
    }

    /// Exactly one sampler, last. `None` kinds (unloaded files) are not
    /// judged yet.
    fn check_sampler(&self, kinds: &[Option<StageKind>]) -> Result<(), ChainError> {
        let last = kinds.len() - 1;
        for (i, kind) in kinds.iter().enumerate() {
            if i < last && *kind == Some(StageKind::Sampler) {
                return Err(ChainError::Invalid {
                    at: self.at(i, Some("plugin")),
                    message: "a sampler chooses the token, so it must be the last stage".into(),
                });
            }
        }
        if kinds[last] == Some(StageKind::Processor) {
            return Err(ChainError::NoSampler {
                origin: self.origin.clone(),
                found: format!("stage {} ({}) is a processor", last + 1, self.lines[last].written),
            });
        }
        Ok(())
    }

    /// Picks the processor of stage `i` in `library` and validates the
    /// stage's parameters against its declaration.
    fn resolve_stage(&self, i: usize, library: &PluginLibrary) -> Result<ResolvedStage, ChainError> {
        let stage = &self.stages[i];
        let is_file = library.path().is_some();
        let index = match (&stage.processor, is_file) {
            (Some(_), false) => {
                return Err(ChainError::Invalid {
                    at: self.at(i, Some("processor")),
                    message: "`processor` only applies to `path` stages; a built-in is chosen by `plugin`".into(),
                })
            }
            (None, false) => library.find(&stage.plugin).ok_or_else(|| ChainError::UnknownPlugin {
                at: self.at(i, Some("plugin")),
                name: stage.plugin.clone(),
                known: names(library),
            })?,
            (Some(name), true) => library.find(name).ok_or_else(|| ChainError::Invalid {
                at: self.at(i, Some("processor")),
                message: format!("the library has no processor `{name}` (it exports: {})", names(library)),
            })?,
            (None, true) if library.processors().len() == 1 => 0,
            (None, true) => {
                return Err(ChainError::Invalid {
                    at: self.at(i, Some("path")),
                    message: format!(
                        "the library exports several processors ({}); choose one with `processor = \"...\"`",
                        names(library)
                    ),
                })
            }
        };
        let info = &library.processors()[index];
        let params = Params::validate(&info.params, &stage.params).map_err(|source| {
            let key = source.param_name().to_string();
            ChainError::Param { at: self.at(i, Some(&key)), cause: source }
        })?;
        // Plugins are created from these parameters as JSON; a list of
        // strings can make that any size, and a WASM plugin gets a copy in
        // its memory per sequence.
        let json_len = serde_json::to_string(params.as_map()).map_or(usize::MAX, |j| j.len());
        if json_len > MAX_PARAMS_JSON_BYTES {
            return Err(ChainError::Invalid {
                at: self.at(i, None),
                message: format!("the parameters take {json_len} bytes as JSON; at most {MAX_PARAMS_JSON_BYTES}"),
            });
        }
        Ok(ResolvedStage { index, kind: info.kind, params })
    }

    /// Loads every plugin file, validates every stage and returns a chain
    /// ready to instantiate per sequence.
    pub fn load(&self, opts: &HostOptions) -> Result<LoadedChain, HostError> {
        let mut files: BTreeMap<&str, PluginLibrary> = BTreeMap::new();
        let mut stages = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            let library = if looks_like_path(&stage.plugin) {
                if !files.contains_key(stage.plugin.as_str()) {
                    let library = PluginLibrary::open(Path::new(&stage.plugin), opts)
                        .map_err(|source| ChainError::Load { at: self.at(i, Some("path")), cause: Box::new(source) })?;
                    files.insert(&stage.plugin, library);
                }
                files[stage.plugin.as_str()].clone()
            } else {
                self.builtins.clone()
            };
            let resolved = self.resolve_stage(i, &library)?;
            stages.push((library, resolved));
        }
        let kinds: Vec<Option<StageKind>> = stages.iter().map(|(_, r)| Some(r.kind)).collect();
        self.check_sampler(&kinds)?;
        Ok(LoadedChain::new(stages, opts, self.rewind, self.observe))
    }
}

fn names(library: &PluginLibrary) -> String {
    library.processors().iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
}

fn param_value(value: &toml::Value) -> Option<ParamValue> {
    Some(match value {
        toml::Value::Integer(i) => ParamValue::Int(*i),
        toml::Value::Float(x) => ParamValue::Float(*x),
        toml::Value::Boolean(b) => ParamValue::Bool(*b),
        toml::Value::String(s) => ParamValue::String(s.clone()),
        toml::Value::Array(items) => {
            ParamValue::StringList(items.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>()?)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }
}
