//! Errors, each rendered as one line that names what the user must look at:
//! the file and line of a chain config, the stage, the parameter, the step.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use logitloom_plugin_api::{InterfaceVersion, ParamError};

use crate::origin::PluginOrigin;

/// Where in a chain something is wrong: `origin:line: stage N (label)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The config file, or a description such as `command line` for
    /// programmatic chains.
    pub origin: String,
    /// 1-based line in `origin`, when the chain came from a file.
    pub line: Option<usize>,
    /// 1-based stage number.
    pub stage: usize,
    /// The stage's plugin name or path as written.
    pub plugin: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: stage {} ({})", self.origin, line, self.stage, self.plugin),
            None => write!(f, "{}: stage {} ({})", self.origin, self.stage, self.plugin),
        }
    }
}

/// A chain config that cannot be run. Found before any token is generated.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("{path}: cannot read chain config: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{origin}:{line}: {message}")]
    Syntax { origin: String, line: usize, message: String },
    #[error("{origin}: the chain has no stages (add [[stage]] tables)")]
    Empty { origin: String },
    #[error("{at}: unknown plugin `{name}` (built-ins: {known}; use `path = ...` for a plugin file)")]
    UnknownPlugin { at: Location, name: String, known: String },
    #[error("{at}: plugin file {} does not exist", path.display())]
    MissingFile { at: Location, path: PathBuf },
    #[error("{at}: {cause}")]
    Param { at: Location, cause: ParamError },
    #[error("{at}: {message}")]
    Invalid { at: Location, message: String },
    #[error("{at}: {cause}")]
    Load { at: Location, cause: Box<HostError> },
    #[error(
        "{origin}: the chain must end with exactly one sampler stage (e.g. `plugin = \"multinomial\"`), found {found}"
    )]
    NoSampler { origin: String, found: String },
}

impl ChainError {
    /// The location of a stage-level error, for callers that want to point
    /// at it themselves.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ChainError::UnknownPlugin { at, .. }
            | ChainError::MissingFile { at, .. }
            | ChainError::Param { at, .. }
            | ChainError::Invalid { at, .. }
            | ChainError::Load { at, .. } => Some(at),
            _ => None,
        }
    }
}

/// How one call into a stage went wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StageFailure {
    #[error("returned an error: {0}")]
    Error(String),
    #[error("panicked: {0}")]
    Panic(String),
    #[error("trapped: {0}")]
    Trap(String),
    #[error("exceeded its deadline of {0:?} and was interrupted")]
    Timeout(Duration),
    #[error("exceeded its memory limit of {0} bytes")]
    MemoryLimit(usize),
    #[error("left invalid logits: {0}")]
    InvalidLogits(String),
    #[error("chose token {token}, outside the vocabulary of {vocab_size}")]
    TokenOutOfRange { token: u64, vocab_size: usize },
}

impl StageFailure {
    /// The failure with any plugin-supplied text cut to
    /// [`MAX_ERROR_BYTES`](crate::MAX_ERROR_BYTES): whatever the plugin
    /// returned, an error stays one readable line.
    pub(crate) fn bounded(self) -> StageFailure {
        // Room for the marker of text the WASM host already cut as it read it.
        let cut =
            |m: String| if m.len() > crate::MAX_ERROR_BYTES + 64 { crate::limits::cut_error(&m, m.len()) } else { m };
        match self {
            StageFailure::Error(m) => StageFailure::Error(cut(m)),
            StageFailure::Panic(m) => StageFailure::Panic(cut(m)),
            StageFailure::Trap(m) => StageFailure::Trap(cut(m)),
            StageFailure::InvalidLogits(m) => StageFailure::InvalidLogits(cut(m)),
            other => other,
        }
    }
}

/// Anything that goes wrong loading plugins or running a chain.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("{}: {message}", path.display())]
    Load { path: PathBuf, message: String },
    #[error("{}: plugin was built against plugin interface {plugin}, this host supports {host}; rebuild the plugin against logitloom-plugin-api {host}", path.display())]
    IncompatibleVersion { path: PathBuf, plugin: InterfaceVersion, host: InterfaceVersion },
    /// `stage` is 1-based; `plugin` says where the processor `name` comes
    /// from (`builtin`, or the kind and file of the plugin).
    #[error("stage {stage} `{name}` ({plugin}): creating the processor failed: {failure}")]
    Create { stage: usize, name: String, plugin: PluginOrigin, failure: StageFailure },
    #[error("stage {stage} `{name}` ({plugin}) at step {step}: {failure}")]
    Stage { stage: usize, name: String, plugin: PluginOrigin, step: usize, failure: StageFailure },
    #[error("the model's logits at step {step} (before any stage) are invalid: {message}")]
    InputLogits { step: usize, message: String },
    #[error("logits row has {got} entries, the chain was set up for a vocabulary of {expected}")]
    VocabMismatch { expected: usize, got: usize },
    #[error("this chain instance already failed ({0}); start a new sequence")]
    Poisoned(String),
    #[error("{0}")]
    Rewind(String),
}
