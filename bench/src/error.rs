//! Errors that stop a benchmark run. A single failing case (a bad chain, a
//! missing prompt, a plugin error) is not one of them: it becomes a failed
//! record and the run goes on.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("cannot write {path}: {cause}")]
    Write { path: PathBuf, cause: std::io::Error },
    #[error("{path}: {message}")]
    Suite { path: PathBuf, message: String },
    #[error(transparent)]
    Javac(#[from] crate::java::JavacError),
    #[error("plotting {what}: {message}")]
    Plot { what: String, message: String },
}
