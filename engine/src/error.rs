use std::path::{Path, PathBuf};

/// Everything the engine can refuse. Each message is one line that names
/// the file, tensor, key or value at fault.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("invalid model config: {0}")]
    Config(String),
    #[error("{}: {cause}", path.display())]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("model directory {} does not exist", .0.display())]
    MissingModelDir(PathBuf),
    #[error("{}: missing tensor `{name}`", file.display())]
    MissingTensor { file: PathBuf, name: String },
    #[error("{}: tensor `{name}` has shape {found:?}, expected {expected:?}", file.display())]
    ShapeMismatch { file: PathBuf, name: String, found: Vec<i64>, expected: Vec<i64> },
    #[error("{}: {message}", file.display())]
    Weights { file: PathBuf, message: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("unknown device `{0}` (expected auto, cpu, cuda or cuda:N)")]
    UnknownDevice(String),
    #[error("device `{0}` was requested but this libtorch sees no CUDA/ROCm device")]
    CudaUnavailable(String),
    #[error("device `{requested}` was requested but only {available} CUDA device(s) exist")]
    NoSuchCudaDevice { requested: String, available: usize },
    #[error("unknown dtype `{0}` (expected f32, bf16 or f16)")]
    UnknownDType(String),
    #[error("prompt {index} is {len} tokens, but the model's context holds {context} (at least one position must stay free to generate)")]
    PromptTooLong { index: usize, len: usize, context: usize },
    #[error("sequence {sequence}, step {step}: {message}")]
    Sampler { sequence: usize, step: usize, message: String },
    // Formatted, not a `source`: every error here is printed as one line,
    // and a cause that is both would be printed twice by error-chain
    // printers such as anyhow's `{:#}`.
    #[error("libtorch: {0}")]
    Torch(tch::TchError),
}

impl From<tch::TchError> for EngineError {
    fn from(error: tch::TchError) -> Self {
        EngineError::Torch(error)
    }
}

impl EngineError {
    pub(crate) fn io(path: &Path, cause: std::io::Error) -> Self {
        EngineError::Io { path: path.to_path_buf(), cause }
    }

    /// The message without the variant's prefix (for re-wrapping with a path).
    pub fn message(&self) -> String {
        match self {
            EngineError::Config(m) => m.clone(),
            other => other.to_string(),
        }
    }
}
