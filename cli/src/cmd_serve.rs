//! `logitloom serve`: the OpenAI-compatible completions server.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use logitloom_engine::{parse_device, parse_dtype, Model};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Model directory (Hugging Face layout). Default: the shipped model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Address to bind. Anything but loopback exposes the server: use --api-key.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Chain presets (NAME.toml) and the only plugin files requests may name.
    #[arg(long, default_value = "configs")]
    pub chains: PathBuf,
    /// Most sequences decoded together; more wait in a queue.
    #[arg(long, default_value_t = 32)]
    pub max_batch: usize,
    /// Require `Authorization: Bearer KEY` on /v1/* and /metrics.
    #[arg(long, env = "LOGITLOOM_API_KEY")]
    pub api_key: Option<String>,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// f32, bf16 or f16.
    #[arg(long, default_value = "f32")]
    pub dtype: String,
    /// CPU threads for libtorch (prefill).
    #[arg(long)]
    pub threads: Option<i32>,
    /// WASM plugin deadline per call, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub wasm_deadline_ms: u64,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(threads) = args.threads {
        if threads < 1 {
            bail!("--threads must be at least 1, got {threads}");
        }
        tch::set_num_threads(threads);
    }
    let config = logitloom_serve::ServeConfig {
        model_dir: args.model.clone().unwrap_or_else(Model::default_dir),
        device: parse_device(&args.device)?,
        kind: parse_dtype(&args.dtype)?,
        chains_dir: args.chains.clone(),
        max_batch: args.max_batch,
        api_key: args.api_key.clone(),
        wasm_deadline: Duration::from_millis(args.wasm_deadline_ms),
    };
    let running = logitloom_serve::start(config, &args.host, args.port).context("cannot start the server")?;
    eprintln!(
        "logitloom serve: http://{} (chains from {}, max batch {}{})",
        running.addr,
        args.chains.display(),
        args.max_batch,
        if args.api_key.is_some() { ", API key required" } else { "" }
    );
    running.wait()?;
    Ok(())
}
