//! `logitloom generate` and `logitloom score`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use logitloom_engine::generate::{ContextOverflow, GenerateOptions, Streamed};
use logitloom_engine::score::{score_tokens, summarize};
use logitloom_engine::tokenizer::Utf8Stream;
use logitloom_engine::{device, parse_device, parse_dtype, Model};
use logitloom_plugin_host::{ChainSpec, HostOptions, ParamValue, StageSpec};
use logitloom_runtime::generate_with_chain;

/// Where the model comes from and how it runs; shared by generate and score.
#[derive(clap::Args)]
pub struct ModelArgs {
    /// Model directory (Hugging Face layout). Default: the shipped model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// f32, bf16 or f16.
    #[arg(long, default_value = "f32")]
    pub dtype: String,
    /// CPU threads for libtorch (default: all cores).
    #[arg(long)]
    pub threads: Option<i32>,
}

/// The model's directory, device and dtype, once validated.
pub struct ModelChoice {
    pub dir: PathBuf,
    pub device: tch::Device,
    pub kind: tch::Kind,
}

impl ModelArgs {
    /// Checks the flags and applies `--threads`, without loading anything:
    /// `serve` hands the choice to its scheduler thread, which loads there.
    pub fn resolve(&self) -> anyhow::Result<ModelChoice> {
        if let Some(threads) = self.threads {
            if threads < 1 {
                bail!("--threads must be at least 1, got {threads}");
            }
            tch::set_num_threads(threads);
        }
        Ok(ModelChoice {
            dir: self.model.clone().unwrap_or_else(Model::default_dir),
            device: parse_device(&self.device)?,
            kind: parse_dtype(&self.dtype)?,
        })
    }

    pub fn load(&self) -> anyhow::Result<Model> {
        let choice = self.resolve()?;
        Ok(Model::load(&choice.dir, choice.device, choice.kind)?)
    }
}

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// The prompt text.
    #[arg(long, conflicts_with = "prompt_file")]
    pub prompt: Option<String>,
    /// Read the prompt from a file (trailing whitespace, such as the file's
    /// final newline, is dropped: it would end the prompt mid-token).
    #[arg(long)]
    pub prompt_file: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long, default_value_t = 256)]
    pub max_new_tokens: usize,
    /// Seed; sequence i of a batch uses seed + i.
    #[arg(long, default_value_t = 1337)]
    pub seed: u64,
    /// Built-in sampler temperature (nanoGPT sample.py semantics). Ignored with --chain.
    #[arg(long, conflicts_with = "chain")]
    pub temperature: Option<f64>,
    /// Built-in sampler top-k (nanoGPT sample.py semantics). Ignored with --chain.
    #[arg(long, conflicts_with = "chain")]
    pub top_k: Option<i64>,
    /// A chain of logit processors (TOML), e.g. configs/conservative.toml.
    #[arg(long)]
    pub chain: Option<PathBuf>,
    /// Generate this many sequences at once from the same prompt.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Write every observation of the chain's stages as JSON lines.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// When the context fills: stop, or slide (keep the last half and go on).
    #[arg(long, default_value = "stop", value_parser = ["stop", "slide"])]
    pub on_context_full: String,
    /// Keep generating after the end-of-text token.
    #[arg(long)]
    pub ignore_eos: bool,
    /// Also print the prompt before the continuation.
    #[arg(long)]
    pub echo_prompt: bool,
    /// WASM plugin deadline per call, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub wasm_deadline_ms: u64,
}

fn read_prompt(prompt: &Option<String>, file: &Option<PathBuf>) -> anyhow::Result<String> {
    match (prompt, file) {
        (Some(text), _) => Ok(text.clone()),
        // Trailing whitespace (a file's final newline) would end the prompt
        // mid-token; see `read_prompt` in logitloom-bench's suite.rs.
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|t| t.trim_end().to_string())
            .with_context(|| format!("cannot read prompt file {}", path.display())),
        (None, None) => bail!("give a prompt with --prompt TEXT or --prompt-file FILE"),
    }
}

/// The chain `generate` runs: the user's file, or nanoGPT's sampler
/// (temperature 0.8, top-k 200 unless given) built from the standard stages.
fn chain_spec(args: &GenerateArgs) -> anyhow::Result<ChainSpec> {
    if let Some(path) = &args.chain {
        return Ok(ChainSpec::from_file(path, &logitloom_runtime::builtins())?);
    }
    let temperature = args.temperature.unwrap_or(0.8);
    if temperature < 0.0 || temperature.is_nan() {
        bail!("--temperature must be >= 0, got {temperature}");
    }
    let mut stages = Vec::new();
    if temperature == 0.0 {
        stages.push(StageSpec::builtin("greedy", []));
    } else {
        stages.push(StageSpec::builtin("temperature", [("temperature", ParamValue::Float(temperature))]));
        let top_k = args.top_k.unwrap_or(200);
        if top_k < 1 {
            bail!("--top-k must be at least 1, got {top_k}");
        }
        stages.push(StageSpec::builtin("top_k", [("k", ParamValue::Int(top_k))]));
        stages.push(StageSpec::builtin("multinomial", []));
    }
    Ok(ChainSpec::from_stages(stages, &logitloom_runtime::builtins())?)
}

pub fn run_generate(args: GenerateArgs) -> anyhow::Result<()> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let prompt_text = read_prompt(&args.prompt, &args.prompt_file)?;
    // Validate the whole chain before loading the model: a typo in the
    // config should not cost a model load.
    let spec = chain_spec(&args)?;
    let host_options = HostOptions {
        wasm_deadline: std::time::Duration::from_millis(args.wasm_deadline_ms),
        ..HostOptions::default()
    };
    let chain = spec.load(&host_options)?;
    let model = args.model.load()?;
    let eos = model.tokenizer.eos_token_id().unwrap_or(model.config().eos_token_id);
    let mut prompt = model.tokenizer.encode(&prompt_text)?;
    if prompt.is_empty() {
        // GPT-2 convention: an empty prompt starts from end-of-text.
        prompt.push(eos);
    }
    let context = model.config().n_positions;
    let options = GenerateOptions {
        max_new_tokens: args.max_new_tokens,
        eos_token_id: eos,
        stop_at_eos: !args.ignore_eos,
        overflow: if args.on_context_full == "slide" {
            ContextOverflow::Slide { keep: context / 2 }
        } else {
            ContextOverflow::Stop
        },
    };
    let prompts = vec![prompt; args.batch];
    let seeds: Vec<u64> = (0..args.batch as u64).map(|i| args.seed.wrapping_add(i)).collect();

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.echo_prompt && args.batch == 1 {
        write!(out, "{prompt_text}")?;
    }
    let mut stream = Utf8Stream::default();
    let stream_live = args.batch == 1;
    let tokenizer = &model.tokenizer;
    let mut write_error = None;
    // A chain that can rewind may take back up to its discard budget of
    // tokens: the live stream holds that many back, so what it prints is
    // final. Other chains stream every token at once.
    let holdback = if chain.may_rewind() { chain.rewind_budget().max_discarded_tokens } else { 0 };
    let mut live: Vec<u32> = Vec::new();
    let mut printed = 0usize;
    let mut print_up_to =
        |live: &[u32], upto: usize, printed: &mut usize, stream: &mut Utf8Stream, out: &mut std::io::StdoutLock<'_>| {
            for &token in &live[*printed..upto] {
                if token != eos || args.ignore_eos {
                    let text = stream.push(tokenizer.token_bytes(token));
                    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                        write_error.get_or_insert(e);
                    }
                }
            }
            *printed = upto.max(*printed);
        };
    let (results, stats) = generate_with_chain(&model, &chain, &prompts, &seeds, &options, &mut |seq, event| {
        if !stream_live || seq != 0 {
            return;
        }
        match event {
            Streamed::Token(token) => live.push(token),
            Streamed::Rewind { kept } => live.truncate(kept.max(printed)),
        }
        let ready = live.len().saturating_sub(holdback);
        if ready > printed {
            print_up_to(&live, ready, &mut printed, &mut stream, &mut out);
        }
    })?;
    if stream_live {
        let kept = &results[0].output.tokens;
        debug_assert_eq!(&live[..printed], &kept[..printed], "the stream printed only tokens no rewind could drop");
        print_up_to(kept, kept.len(), &mut printed, &mut stream, &mut out);
    }
    if let Some(e) = write_error {
        return Err(e).context("cannot write to stdout");
    }
    if stream_live {
        write!(out, "{}", stream.finish())?;
        writeln!(out)?;
    } else {
        for (i, r) in results.iter().enumerate() {
            let tokens: Vec<u32> = r.output.tokens.iter().copied().filter(|&t| t != eos || args.ignore_eos).collect();
            writeln!(out, "===== sequence {i} (seed {}) =====", r.seed)?;
            if args.echo_prompt {
                write!(out, "{prompt_text}")?;
            }
            writeln!(out, "{}", tokenizer.decode(&tokens))?;
        }
    }
    out.flush()?;

    if let Some(path) = &args.trace {
        write_trace(path, &results).with_context(|| format!("cannot write trace {}", path.display()))?;
    }
    for (i, r) in results.iter().enumerate() {
        if r.output.finish == logitloom_engine::generate::Finish::ContextFull {
            eprintln!("note: sequence {i} stopped: the context of {context} tokens is full (use --on-context-full slide to go on)");
        }
    }
    eprintln!(
        "prefill: {} tokens in {:.1} ms | decode: {} tokens in {:.2} s = {:.1} tokens/s | device {} | dtype {} | decode path {} | chain: {}",
        stats.prefill_tokens,
        stats.prefill_time.as_secs_f64() * 1e3,
        stats.decode_tokens,
        stats.decode_time.as_secs_f64(),
        stats.decode_tokens_per_second(),
        device::describe(model.device),
        args.model.dtype,
        if stats.cpu_decode { "cpu" } else { "libtorch" },
        chain.stage_labels().join(" > "),
    );
    if chain.may_rewind() {
        let refused: usize = results.iter().map(|r| r.rewinds.iter().filter(|e| !e.granted).count()).sum();
        eprintln!(
            "rewinds: {} ({} tokens discarded, {} requests refused, {:.2} ms rolling stages back)",
            stats.rewinds,
            stats.discarded,
            refused,
            results.iter().map(|r| r.rollback_time.as_secs_f64()).sum::<f64>() * 1e3,
        );
    }
    Ok(())
}

fn write_trace(path: &Path, results: &[logitloom_runtime::ChainSequenceOutput]) -> anyhow::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (seq, r) in results.iter().enumerate() {
        for o in &r.observations {
            let line = serde_json::json!({"stage": o.stage, "seq": seq, "step": o.step, "record": o.record});
            writeln!(file, "{line}")?;
        }
    }
    file.flush()?;
    Ok(())
}

#[derive(clap::Args)]
pub struct ScoreArgs {
    /// The text to score.
    #[arg(long)]
    pub text_file: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Refuse texts of more tokens than this: a text past the context is
    /// scored window by window (one forward pass per half context, one
    /// output line per token), so a stray 10 MB file would take hours.
    #[arg(long, default_value_t = 100_000)]
    pub max_tokens: usize,
}

pub fn run_score(args: ScoreArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.text_file)
        .with_context(|| format!("cannot read {}", args.text_file.display()))?;
    let model = args.model.load()?;
    let ids = model.tokenizer.encode(&text)?;
    if ids.len() > args.max_tokens {
        bail!(
            "{}: {} tokens, more than --max-tokens {} (raise it to score the whole text)",
            args.text_file.display(),
            ids.len(),
            args.max_tokens
        );
    }
    if ids.len() < 2 {
        bail!("{}: needs at least two tokens to score, has {}", args.text_file.display(), ids.len());
    }
    let scores = score_tokens(&model.gpt, &ids)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for s in &scores {
        writeln!(out, "{}", serde_json::to_string(s)?)?;
    }
    let summary = summarize(&scores);
    writeln!(
        out,
        "{}",
        serde_json::json!({"summary": {"tokens": summary.tokens, "mean_loss": summary.mean_loss, "perplexity": summary.perplexity}})
    )?;
    Ok(())
}
