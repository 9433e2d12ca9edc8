//! `logitloom plugins list|check`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use logitloom_plugin_api::{ParamKind, ParamSpec, ParamValue, ProcessorInfo, StageKind};
use logitloom_plugin_host::{
    default_plugin_dirs, plugin_files, ChainSpec, HostOptions, OwnedTokenBytes, PluginLibrary, SequenceSetup, StageSpec,
};

#[derive(clap::Subcommand)]
pub enum PluginsCommand {
    /// Built-ins and the plugins found in the plugin directories
    /// ($LOGITLOOM_PLUGIN_PATH, ~/.local/share/logitloom/plugins, --dir).
    List {
        /// Also look in this directory (repeatable; searched first).
        #[arg(long = "dir")]
        dirs: Vec<PathBuf>,
    },
    /// Load a plugin file and run each of its processors on random logits,
    /// printing the time per call and any error.
    Check {
        /// A native library (.so/.dylib/.dll) or a WASM module (.wasm/.wat).
        file: PathBuf,
        /// Only this processor.
        #[arg(long)]
        processor: Option<String>,
        /// A parameter value, `NAME=VALUE` (repeatable). Required
        /// parameters not given get a value inside their declared range.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[arg(long, default_value_t = 50_257)]
        vocab: usize,
        #[arg(long, default_value_t = 50)]
        steps: usize,
        /// WASM per-call deadline in milliseconds.
        #[arg(long, default_value_t = 100)]
        deadline_ms: u64,
    },
}

pub fn run(cmd: PluginsCommand) -> anyhow::Result<()> {
    match cmd {
        PluginsCommand::List { dirs } => list(dirs),
        PluginsCommand::Check { file, processor, params, vocab, steps, deadline_ms } => {
            let opts = HostOptions { wasm_deadline: Duration::from_millis(deadline_ms), ..HostOptions::default() };
            check(&file, processor.as_deref(), &params, vocab, steps, &opts)
        }
    }
}

fn list(extra_dirs: Vec<PathBuf>) -> anyhow::Result<()> {
    let opts = HostOptions::default();
    print_library(&logitloom_runtime::builtins());
    let dirs: Vec<PathBuf> = extra_dirs.into_iter().chain(default_plugin_dirs()).collect();
    for dir in &dirs {
        for file in plugin_files(dir) {
            match PluginLibrary::open(&file, &opts) {
                Ok(library) => print_library(&library),
                Err(e) => println!("\n{}  (not loadable: {e})", file.display()),
            }
        }
    }
    let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    println!("\nsearched: {}", if searched.is_empty() { "(no directories)".to_string() } else { searched.join(", ") });
    Ok(())
}

fn print_library(library: &PluginLibrary) {
    let location = library.path().map(|p| format!("  {}", p.display())).unwrap_or_default();
    println!("\n{}{location}  (interface {})", library.kind(), library.interface_version());
    for info in library.processors() {
        let kind = match info.kind {
            StageKind::Processor => "processor",
            StageKind::Sampler => "sampler",
        };
        println!("  {:<28} {:<9}  {}", info.name, kind, info.description);
        for p in &info.params {
            let default = p.default.as_ref().map(|d| format!(", default {d}")).unwrap_or_else(|| ", required".into());
            println!("      {:<24} {}{default}  {}", p.name, kind_text(&p.kind), p.help);
        }
    }
}

fn kind_text(kind: &ParamKind) -> String {
    match kind {
        ParamKind::Float { min, max, min_exclusive, max_exclusive } => format!(
            "number in {}, {}",
            min.map_or("(-inf".into(), |m| format!("{}{m}", if *min_exclusive { "(" } else { "[" })),
            max.map_or("inf)".into(), |m| format!("{m}{}", if *max_exclusive { ")" } else { "]" })),
        ),
        ParamKind::Int { min, max } => format!(
            "integer in {}, {}",
            min.map_or("(-inf".into(), |m| format!("[{m}")),
            max.map_or("inf)".into(), |m| format!("{m}]"))
        ),
        ParamKind::Bool => "boolean".into(),
        ParamKind::String { choices: Some(c) } => format!("one of {}", c.join("|")),
        ParamKind::String { choices: None } => "string".into(),
        ParamKind::StringList => "list of strings".into(),
    }
}

/// Parses `NAME=VALUE` against the parameter's declared kind.
fn parse_param(spec: &ParamSpec, text: &str) -> anyhow::Result<ParamValue> {
    let bad = || anyhow::anyhow!("--param {}={text}: expected {}", spec.name, kind_text(&spec.kind));
    Ok(match &spec.kind {
        ParamKind::Float { .. } => ParamValue::Float(text.parse().map_err(|_| bad())?),
        ParamKind::Int { .. } => ParamValue::Int(text.parse().map_err(|_| bad())?),
        ParamKind::Bool => ParamValue::Bool(text.parse().map_err(|_| bad())?),
        ParamKind::String { .. } => ParamValue::String(text.to_string()),
        ParamKind::StringList => ParamValue::StringList(text.split(',').map(str::to_string).collect()),
    })
}

/// A value inside the declared range, for required parameters the user
/// did not give.
fn stand_in(spec: &ParamSpec) -> ParamValue {
    match &spec.kind {
        ParamKind::Float { min, max, .. } => ParamValue::Float(match (min, max) {
            (Some(lo), Some(hi)) => (lo + hi) / 2.0,
            (Some(lo), None) => lo + 1.0,
            (None, Some(hi)) => hi - 1.0,
            (None, None) => 1.0,
        }),
        ParamKind::Int { min, max } => ParamValue::Int(min.unwrap_or(1).max(1).min(max.unwrap_or(i64::MAX))),
        ParamKind::Bool => ParamValue::Bool(false),
        ParamKind::String { choices } => {
            ParamValue::String(choices.as_ref().and_then(|c| c.first().cloned()).unwrap_or_default())
        }
        ParamKind::StringList => ParamValue::StringList(vec![]),
    }
}

fn check(
    file: &Path,
    only: Option<&str>,
    given: &[String],
    vocab: usize,
    steps: usize,
    opts: &HostOptions,
) -> anyhow::Result<()> {
    let library = PluginLibrary::open(file, opts)?;
    println!("{} {} (interface {})", library.kind(), file.display(), library.interface_version());
    let infos: Vec<&ProcessorInfo> = library.processors().iter().filter(|p| only.is_none_or(|n| p.name == n)).collect();
    if infos.is_empty() {
        bail!("{}: no processor `{}`", file.display(), only.unwrap_or_default());
    }
    let mut given_map = BTreeMap::new();
    for item in given {
        let (name, value) = item.split_once('=').with_context(|| format!("--param {item}: expected NAME=VALUE"))?;
        given_map.insert(name.to_string(), value.to_string());
    }
    let token_bytes = Arc::new(OwnedTokenBytes::from_tokens(
        &(0..vocab)
            .map(|i| if i % 50 == 0 { b"\n".to_vec() } else { format!("t{i}").into_bytes() })
            .collect::<Vec<_>>(),
    ));
    let mut failures = 0;
    for info in infos {
        let mut params = BTreeMap::new();
        for spec in &info.params {
            match given_map.get(&spec.name) {
                Some(text) => {
                    params.insert(spec.name.clone(), parse_param(spec, text)?);
                }
                None if spec.default.is_none() => {
                    let value = stand_in(spec);
                    println!("  {}: using {} = {value} (give --param {}=...)", info.name, spec.name, spec.name);
                    params.insert(spec.name.clone(), value);
                }
                None => {}
            }
        }
        match check_processor(file, info, params, vocab, steps, &token_bytes, opts) {
            Ok(per_call) => {
                println!("  {:<28} ok     {:>10.1} us/call over {steps} steps", info.name, per_call.as_secs_f64() * 1e6)
            }
            Err(e) => {
                failures += 1;
                println!("  {:<28} FAILED {e:#}", info.name);
            }
        }
    }
    if failures > 0 {
        bail!("{failures} processor(s) of {} failed", file.display());
    }
    Ok(())
}

/// Runs one processor (followed by the built-in greedy sampler, when it is
/// not a sampler itself) on random logits; returns its mean time per step.
fn check_processor(
    file: &Path,
    info: &ProcessorInfo,
    params: BTreeMap<String, ParamValue>,
    vocab: usize,
    steps: usize,
    token_bytes: &Arc<OwnedTokenBytes>,
    opts: &HostOptions,
) -> anyhow::Result<Duration> {
    let mut stages = vec![StageSpec { plugin: file.display().to_string(), processor: Some(info.name.clone()), params }];
    if info.kind == StageKind::Processor {
        stages.push(StageSpec::builtin("greedy", []));
    }
    let chain = ChainSpec::from_stages(stages, &logitloom_runtime::builtins())?.load(opts)?;
    let setup = SequenceSetup { vocab_size: vocab, eos_token_id: 0, seed: 1, token_bytes: Some(token_bytes.clone()) };
    let mut instance = chain.instantiate(&setup)?;
    let mut rng = logitloom_numerics::SplitMix64::new(0x9e37_79b9_7f4a_7c15);
    let mut random = move || rng.next_u64();
    let mut tokens: Vec<u32> = (0..16).map(|_| (random() % vocab as u64) as u32).collect();
    for step in 0..steps {
        let mut logits: Vec<f32> =
            (0..vocab).map(|_| (random() >> 40) as f32 / (1u64 << 24) as f32 * 20.0 - 10.0).collect();
        let token = instance.step(&tokens, 16, step, &mut logits)?;
        tokens.push(token);
    }
    let total = instance.stage_times()[0].1;
    Ok(total / steps.max(1) as u32)
}
