//! # logitloom serve
//!
//! An OpenAI-compatible completions server (`POST /v1/completions`,
//! `GET /v1/models`, `GET /health`, `GET /metrics`) in front of the engine,
//! where every request may choose its own logit-processor chain: a preset
//! from the server's chain directory, or an inline chain of built-ins and
//! plugin files already in that directory. See `docs/serve.md`.
//!
//! ## Shape
//!
//! One scheduler thread owns the model and one [`LiveBatch`] (continuous
//! batching: sequences join at the next step with one batched prefill and
//! leave when done). HTTP handlers (tokio + axum) validate a request,
//! tokenize it, load its chain (cached), and send it to the scheduler over a
//! channel; tokens come back over a per-request channel. A client that goes
//! away drops its receiver, and the scheduler frees its rows at the next step.
//!
//! [`LiveBatch`]: logitloom_engine::generate::LiveBatch

mod http;
mod metrics;
mod request;
mod scheduler;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use request::FIELD_ORDER;

/// How the server is set up.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub model_dir: PathBuf,
    pub device: tch::Device,
    pub kind: tch::Kind,
    /// Presets (`NAME.toml`) and the only plugin files requests may name.
    pub chains_dir: PathBuf,
    /// Sequences decoded together at most; more wait in a queue.
    pub max_batch: usize,
    /// When set, `/v1/*` and `/metrics` need `Authorization: Bearer KEY`.
    pub api_key: Option<String>,
    pub wasm_deadline: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Engine(#[from] logitloom_engine::EngineError),
    #[error("chain directory {}: {message}", path.display())]
    ChainsDir { path: PathBuf, message: String },
    #[error("--max-batch must be at least 1")]
    MaxBatch,
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    #[error("the scheduler thread stopped: {0}")]
    Scheduler(String),
}

/// A running server: its address, and a handle that stops it.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServeError>>>,
}

impl Running {
    /// Stops accepting, lets the HTTP side finish, and joins its thread.
    pub fn stop(mut self) -> Result<(), ServeError> {
        self.stop_inner()
    }
    fn stop_inner(&mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| ServeError::Scheduler("the server thread panicked".into()))?,
            None => Ok(()),
        }
    }
    /// Blocks until the server stops on its own (it does not, short of an error).
    pub fn wait(mut self) -> Result<(), ServeError> {
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| ServeError::Scheduler("the server thread panicked".into()))?,
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

/// Loads the model, binds `host:port` (port 0 picks a free one) and serves
/// in background threads until [`Running::stop`].
pub fn start(config: ServeConfig, host: &str, port: u16) -> Result<Running, ServeError> {
    if config.max_batch == 0 {
        return Err(ServeError::MaxBatch);
    }
    if !config.chains_dir.is_dir() {
        return Err(ServeError::ChainsDir { path: config.chains_dir.clone(), message: "is not a directory".into() });
    }
    let chains_dir = config
        .chains_dir
        .canonicalize()
        .map_err(|e| ServeError::ChainsDir { path: config.chains_dir.clone(), message: e.to_string() })?;
    let config = ServeConfig { chains_dir, ..config };
    let metrics = Arc::new(metrics::Metrics::default());
    let scheduler = scheduler::spawn(&config, metrics.clone())?;
    let addr_text = format!("{host}:{port}");
    let listener = std::net::TcpListener::bind(&addr_text)
        .map_err(|source| ServeError::Bind { addr: addr_text.clone(), source })?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let state = Arc::new(http::AppState::new(config, scheduler, metrics));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread =
        std::thread::Builder::new().name("logitloom-http".into()).spawn(move || -> Result<(), ServeError> {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                axum::serve(listener, http::router(state))
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                    })
                    .await?;
                Ok::<(), ServeError>(())
            })
        })?;
    Ok(Running { addr, shutdown: Some(tx), thread: Some(thread) })
}
