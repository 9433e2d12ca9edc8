//! logitloom's trainer: from a directory or zip of Java sources to a GPT-2
//! model directory that the engine loads.
//!
//! Design choices:
//!
//! * **Data** (`prepare`): files are split into train/validation by a hash of
//!   their path, exact duplicates are dropped by content hash, and each file's
//!   tokens are followed by `<|endoftext|>`. Token files carry a header with a
//!   count and a checksum so a truncated or corrupt file is an error, not
//!   silently wrong training data. `prepare --by-project` (`projects.rs`)
//!   takes a directory of many projects instead: it streams, drops generated,
//!   vendored, oversized, exact- and near-duplicate files (MinHash,
//!   `minhash.rs`) with a reason for each, and splits by whole project.
//! * **Resumable randomness**: no libtorch generator state is saved. Batch
//!   positions come from our own PRNG seeded by (seed, step, micro-step), and
//!   libtorch's generator is reseeded from (seed, step) before every step's
//!   forward pass (dropout), so step `n` does the same thing whether the run
//!   got there directly or through a checkpoint.
//! * **Optimizer**: AdamW is written here on plain tensors (PyTorch's
//!   single-tensor formula) because tch's optimizers cannot export their
//!   moments; ours are saved in the checkpoint as safetensors.
//! * **Checkpoints** are written to a temporary directory and renamed into
//!   place, so an interrupted write never damages the previous checkpoint.
//!   Each one is a model directory in the engine's Hugging Face layout plus
//!   `optimizer.safetensors` and `trainer_state.json`.

pub mod adamw;
pub mod bpe;
pub mod checkpoint;
pub mod config;
pub mod corpus;
pub mod data;
pub mod error;
pub mod log;
pub mod minhash;
pub mod plot;
pub mod prepare;
pub mod projects;
pub mod schedule;
pub mod tokens;
pub mod train;

pub use config::TrainConfig;
pub use error::{Result, TrainerError};
pub use prepare::{prepare, DataMeta, PrepareOptions};
pub use projects::{prepare_projects, ProjectPrepareOptions};
pub use train::{train, TrainOptions, TrainSummary};
