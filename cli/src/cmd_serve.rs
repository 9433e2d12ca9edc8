//! `logitloom serve`: the OpenAI-compatible completions server.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::cmd_generate::ModelArgs;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub model: ModelArgs,
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
    /// WASM plugin deadline per call, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub wasm_deadline_ms: u64,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let model = args.model.resolve()?;
    let config = logitloom_serve::ServeConfig {
        model_dir: model.dir,
        device: model.device,
        kind: model.kind,
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
