//! The trainer's typed errors. Every variant renders as one line that names
//! the file, key or value at fault, because the CLI prints exactly that line.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TrainerError {
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },

    #[error("corpus {path}: {reason}")]
    Corpus { path: PathBuf, reason: String },

    #[error("corpus {path}: no usable .java files (found {skipped} unreadable or non-UTF-8 ones)")]
    EmptyCorpus { path: PathBuf, skipped: usize },

    #[error("tokenizer {path}: {reason}")]
    Tokenizer { path: PathBuf, reason: String },

    #[error("token file {path}: {reason}")]
    TokenFile { path: PathBuf, reason: String },

    #[error("data dir {path}: {reason}")]
    DataDir { path: PathBuf, reason: String },

    #[error("config {path}: {reason}")]
    Config { path: PathBuf, reason: String },

    #[error("config {path}: key `{key}` = {value}: {reason}")]
    ConfigValue { path: PathBuf, key: String, value: String, reason: String },

    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },

    #[error("checkpoint {path} holds a model of shape {found}, but the config asks for {expected}")]
    ShapeMismatch { path: PathBuf, found: String, expected: String },

    #[error("checkpoint directory {path} is not writable: {cause}")]
    NotWritable { path: PathBuf, cause: std::io::Error },

    #[error("training log {path}: {reason}")]
    Log { path: PathBuf, reason: String },

    #[error("plot {path}: {reason}")]
    Plot { path: PathBuf, reason: String },

    // Formatted, not a `source` (see the engine's `EngineError::Torch`).
    #[error("libtorch: {0}")]
    Torch(tch::TchError),

    #[error(transparent)]
    Engine(#[from] logitloom_engine::EngineError),
}

impl From<tch::TchError> for TrainerError {
    fn from(error: tch::TchError) -> Self {
        TrainerError::Torch(error)
    }
}

pub type Result<T, E = TrainerError> = std::result::Result<T, E>;

/// Attaches the path to an I/O error, which `std::io::Error` alone lacks.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|cause| TrainerError::Io { path: path.into(), cause })
    }
}
