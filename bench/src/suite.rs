//! The suite file: what to run.
//!
//! ```toml
//! name = "collapse"
//! models = ["../../models/default"]     # model directories
//! prompts = ["../prompts"]              # .java files, or directories of them
//! seeds = [1, 2, 3]
//! max_new_tokens = 256
//! device = "cpu"                        # optional, default "cpu"
//! batch_size = 8                        # optional, sequences per forward pass
//!
//! [[chains]]                            # a chain given inline: the same keys
//! name = "top_k_40"                     # as a chain config file
//! [[chains.stage]]
//! plugin = "top_k"
//! k = 40
//!
//! [[chains]]                            # or a chain config file
//! name = "conservative"
//! file = "../../configs/conservative.toml"
//! ```
//!
//! Paths are relative to the suite file. A prompt file that does not exist is
//! not an error here: its generations are reported as failed with the reason,
//! and the rest of the suite runs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::BenchError;
use crate::metrics::MetricRules;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    name: Option<String>,
    #[serde(default)]
    description: String,
    models: Vec<String>,
    prompts: Vec<String>,
    seeds: Vec<u64>,
    max_new_tokens: usize,
    #[serde(default = "default_device")]
    device: String,
    #[serde(default = "default_batch_size")]
    batch_size: usize,
    #[serde(default)]
    metrics: MetricRules,
    chains: Vec<toml::Table>,
}

fn default_device() -> String {
    "cpu".into()
}
fn default_batch_size() -> usize {
    8
}

/// A model directory and the name reports use for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelEntry {
    pub name: String,
    pub dir: PathBuf,
}

/// Where a chain's configuration comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ChainSource {
    /// The chain table as written in the suite (minus `name`), as TOML text.
    Inline(String),
    File(PathBuf),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChainEntry {
    pub name: String,
    pub source: ChainSource,
}

impl ChainEntry {
    /// The chain configuration text, or why it cannot be read; read at run
    /// time so that a missing chain file fails only that chain's cases.
    pub fn config_text(&self) -> Result<String, String> {
        match &self.source {
            ChainSource::Inline(text) => Ok(text.clone()),
            ChainSource::File(path) => {
                std::fs::read_to_string(path).map_err(|e| format!("cannot read chain config {}: {e}", path.display()))
            }
        }
    }
}

/// A prompt, or why it could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptEntry {
    /// The file stem; unique within a suite.
    pub id: String,
    pub path: PathBuf,
    pub text: Result<String, String>,
}

/// A parsed suite with every path resolved.
#[derive(Clone, Debug)]
pub struct Suite {
    pub name: String,
    pub description: String,
    pub path: PathBuf,
    pub models: Vec<ModelEntry>,
    pub prompts: Vec<PromptEntry>,
    pub chains: Vec<ChainEntry>,
    pub seeds: Vec<u64>,
    pub max_new_tokens: usize,
    pub device: String,
    pub batch_size: usize,
    pub rules: MetricRules,
}

/// One cell of the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    pub model: usize,
    pub chain: usize,
    pub prompt: usize,
    pub seed: u64,
}

impl Suite {
    pub fn from_file(path: &Path) -> Result<Suite, BenchError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| BenchError::Read { path: path.to_path_buf(), cause: source })?;
        Suite::parse(&text, path)
    }

    /// Parses suite text as if read from `path` (which anchors relative paths).
    pub fn parse(text: &str, path: &Path) -> Result<Suite, BenchError> {
        let invalid = |message: String| BenchError::Suite { path: path.to_path_buf(), message };
        let file: SuiteFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        if file.models.is_empty() || file.chains.is_empty() || file.seeds.is_empty() {
            return Err(invalid("`models`, `chains` and `seeds` must each name at least one entry".into()));
        }
        if file.max_new_tokens == 0 || file.batch_size == 0 {
            return Err(invalid("`max_new_tokens` and `batch_size` must be at least 1".into()));
        }
        if file.seeds.iter().collect::<BTreeSet<_>>().len() != file.seeds.len() {
            return Err(invalid(format!("`seeds` repeats a seed: {:?}", file.seeds)));
        }
        let models = file
            .models
            .iter()
            .map(|m| {
                let dir = base.join(m);
                let name = Path::new(m).file_name().map_or_else(|| m.clone(), |n| n.to_string_lossy().into_owned());
                ModelEntry { name, dir }
            })
            .collect::<Vec<_>>();
        unique("model", models.iter().map(|m| m.name.as_str())).map_err(&invalid)?;
        let chains = file
            .chains
            .into_iter()
            .enumerate()
            .map(|(i, table)| chain_entry(i, table, base))
            .collect::<Result<Vec<_>, _>>()
            .map_err(&invalid)?;
        unique("chain", chains.iter().map(|c| c.name.as_str())).map_err(&invalid)?;
        let prompts = collect_prompts(&file.prompts, base).map_err(&invalid)?;
        if prompts.is_empty() {
            return Err(invalid(format!("`prompts` = {:?} holds no .java files", file.prompts)));
        }
        unique("prompt", prompts.iter().map(|p| p.id.as_str())).map_err(&invalid)?;
        let name =
            file.name.unwrap_or_else(|| path.file_stem().map_or("suite".into(), |s| s.to_string_lossy().into_owned()));
        Ok(Suite {
            name,
            description: file.description,
            path: path.to_path_buf(),
            models,
            prompts,
            chains,
            seeds: file.seeds,
            max_new_tokens: file.max_new_tokens,
            device: file.device,
            batch_size: file.batch_size,
            rules: file.metrics,
        })
    }

    /// Every cell, ordered model, chain, prompt, seed, so that consecutive
    /// jobs share a model and chain and can be batched.
    pub fn jobs(&self) -> Vec<Job> {
        let mut jobs = Vec::new();
        for model in 0..self.models.len() {
            for chain in 0..self.chains.len() {
                for prompt in 0..self.prompts.len() {
                    for &seed in &self.seeds {
                        jobs.push(Job { model, chain, prompt, seed });
                    }
                }
            }
        }
        jobs
    }

    /// A stable name of a job, e.g. `default/top_k_40/bst/3`.
    pub fn job_key(&self, job: &Job) -> String {
        format!(
            "{}/{}/{}/{}",
            self.models[job.model].name, self.chains[job.chain].name, self.prompts[job.prompt].id, job.seed
        )
    }

    /// Changes when anything that determines the job's output changes, so a
    /// resumed run redoes results made under an edited suite, chain or prompt.
    pub fn job_fingerprint(&self, job: &Job) -> String {
        let mut h = Sha256::new();
        let chain = self.chains[job.chain].config_text().unwrap_or_else(|e| e);
        let prompt = self.prompts[job.prompt].text.as_deref().unwrap_or_else(|e| e);
        for part in [
            self.models[job.model].dir.to_string_lossy().as_ref(),
            &self.device,
            &chain,
            prompt,
            &self.max_new_tokens.to_string(),
            &job.seed.to_string(),
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

fn chain_entry(index: usize, mut table: toml::Table, base: &Path) -> Result<ChainEntry, String> {
    let name = match table.remove("name") {
        Some(toml::Value::String(s)) if !s.is_empty() && !s.contains('/') => s,
        Some(other) => return Err(format!("chains[{index}].name must be a non-empty string without `/`, got {other}")),
        None => return Err(format!("chains[{index}] has no `name`")),
    };
    let source = match table.remove("file") {
        Some(toml::Value::String(file)) if table.is_empty() => ChainSource::File(base.join(file)),
        Some(toml::Value::String(_)) => {
            return Err(format!(
                "chain `{name}` has both `file` and inline keys ({}); use one",
                table.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        }
        Some(other) => return Err(format!("chain `{name}`: `file` must be a path string, got {other}")),
        None => ChainSource::Inline(toml::to_string(&table).map_err(|e| format!("chain `{name}`: {e}"))?),
    };
    Ok(ChainEntry { name, source })
}

fn collect_prompts(entries: &[String], base: &Path) -> Result<Vec<PromptEntry>, String> {
    let mut prompts = Vec::new();
    for entry in entries {
        let path = base.join(entry);
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|e| format!("cannot list prompt directory {}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "java"))
                .collect();
            files.sort();
            prompts.extend(files.into_iter().map(read_prompt));
        } else {
            prompts.push(read_prompt(path));
        }
    }
    Ok(prompts)
}

fn read_prompt(path: PathBuf) -> PromptEntry {
    let id = path.file_stem().map_or_else(|| path.to_string_lossy().into_owned(), |s| s.to_string_lossy().into_owned());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) if t.trim().is_empty() => Err(format!("prompt file {} is empty", path.display())),
        // A file's final newline is not part of the prompt: byte-level BPE
        // merges a newline with the next line's indentation ("\n        "),
        // so a prompt ending in a bare "\n" leaves the model mid-token, and
        // it answers by closing the open method at once.
        Ok(t) => Ok(t.trim_end().to_string()),
        Err(e) => Err(format!("cannot read prompt file {}: {e}", path.display())),
    };
    PromptEntry { id, path, text }
}

fn unique<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(format!("two {what}s are named `{name}`; names must be unique"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn parses_inline_and_file_chains_and_prompt_directories() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "prompts/b.java", "class B {");
        write(dir.path(), "prompts/a.java", "class A {");
        write(dir.path(), "prompts/notes.txt", "not a prompt");
        let suite_path = write(
            dir.path(),
            "s.toml",
            r#"
models = ["models/m1"]
prompts = ["prompts", "extra/missing.java"]
seeds = [1, 2]
max_new_tokens = 16
[[chains]]
name = "k40"
[[chains.stage]]
plugin = "top_k"
k = 40
[[chains]]
name = "from_file"
file = "chains/c.toml"
"#,
        );
        let suite = Suite::from_file(&suite_path).unwrap();
        assert_eq!(suite.name, "s");
        assert_eq!(suite.models, [ModelEntry { name: "m1".into(), dir: dir.path().join("models/m1") }]);
        let ids: Vec<&str> = suite.prompts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "missing"]);
        assert!(suite.prompts[2].text.as_ref().unwrap_err().contains("missing.java"));
        let ChainSource::Inline(text) = &suite.chains[0].source else { panic!("inline chain") };
        let table: toml::Table = toml::from_str(text).unwrap();
        assert_eq!(table["stage"][0]["k"].as_integer(), Some(40));
        assert_eq!(suite.chains[1].source, ChainSource::File(dir.path().join("chains/c.toml")));
        assert!(suite.chains[1].config_text().unwrap_err().contains("c.toml"));
        assert_eq!(suite.jobs().len(), 2 * 3 * 2);
        assert_eq!(suite.job_key(&suite.jobs()[3]), "m1/k40/b/2");
        assert_eq!((suite.device.as_str(), suite.batch_size), ("cpu", 8));
    }

    #[test]
    fn bad_suites_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "p.java", "class P {");
        let base = "models = [\"m\"]\nprompts = [\"p.java\"]\nmax_new_tokens = 4\n";
        let err =
            |extra: &str| Suite::parse(&format!("{base}{extra}"), &dir.path().join("s.toml")).unwrap_err().to_string();
        assert!(err("seeds = [1]\n").contains("missing field `chains`"));
        assert!(err("seeds = [1, 1]\n[[chains]]\nname = \"a\"\n").contains("repeats a seed"));
        assert!(err("seeds = [1]\n[[chains]]\nname = \"a\"\n[[chains]]\nname = \"a\"\n")
            .contains("two chains are named `a`"));
        assert!(err("seeds = [1]\n[[chains]]\nname = \"a\"\nfile = \"x.toml\"\nstage = []\n")
            .contains("both `file` and inline"));
        assert!(err("seeds = [1]\nsead = 3\n[[chains]]\nname = \"a\"\n").contains("unknown field `sead`"));
        let empty = err("seeds = []\n[[chains]]\nname = \"a\"\n");
        assert!(empty.starts_with(&format!("{}: ", dir.path().join("s.toml").display())), "{empty}");
        assert!(empty.contains("at least one entry"));
    }

    #[test]
    fn fingerprint_follows_what_determines_output() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "p.java", "class P {");
        let text = |k: u32| {
            format!("models = [\"m\"]\nprompts = [\"p.java\"]\nseeds = [1, 2]\nmax_new_tokens = 4\n[[chains]]\nname = \"a\"\n[[chains.stage]]\nplugin = \"top_k\"\nk = {k}\n")
        };
        let s40 = Suite::parse(&text(40), &dir.path().join("s.toml")).unwrap();
        let s41 = Suite::parse(&text(41), &dir.path().join("s.toml")).unwrap();
        let jobs = s40.jobs();
        assert_eq!(
            s40.job_fingerprint(&jobs[0]),
            Suite::parse(&text(40), &dir.path().join("s.toml")).unwrap().job_fingerprint(&jobs[0])
        );
        assert_ne!(s40.job_fingerprint(&jobs[0]), s41.job_fingerprint(&jobs[0]));
        assert_ne!(s40.job_fingerprint(&jobs[0]), s40.job_fingerprint(&jobs[1]));
    }
}
