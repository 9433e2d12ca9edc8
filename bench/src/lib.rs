//! # logitloom-bench: the collapse benchmark
//!
//! Small code models degenerate: after a while they repeat a line, a token
//! pair, or a brace forever. This crate measures *which decoding strategy
//! keeps a model coherent longest, and why*, by running a grid of chains x
//! prompts x seeds ([`suite`]) and measuring each generation ([`metrics`],
//! [`java`]), then writing a report readable at a glance ([`report`]).
//!
//! ## Design choices
//!
//! * **The model is behind a trait.** [`runner::Generator`] is the only thing
//!   that touches the engine; [`engine_generator`] is the real one. Resume,
//!   failure isolation, metrics and the report are tested against a fake.
//! * **Results are the checkpoint.** Each generation is appended to
//!   `results.jsonl` as it finishes, with a fingerprint of everything that
//!   determines it; rerunning the same command resumes. There is no other
//!   state to lose.
//! * **A broken case is a result, not a crash.** A chain that does not load,
//!   a prompt that is missing, a plugin that errors mid-generation: each
//!   affected generation is recorded as failed with the reason, and the grid
//!   goes on.
//! * **One javac for all.** Compiling is the slow check, so it runs once per
//!   run over every new generation (see [`java::javac`]).
//! * **Conventions are spelled out** in each metric module and in
//!   `docs/bench.md`, because the literature's "rep-n" means three different
//!   things.

#[cfg(feature = "engine")]
pub mod engine_generator;
pub mod error;
mod interrupt;
pub mod java;
pub mod metrics;
pub mod record;
pub mod report;
pub mod runner;
pub mod stats;
pub mod suite;

pub use error::BenchError;
pub use interrupt::stop_on_ctrl_c;
pub use record::{Generated, Record};
pub use report::RunMeta;
pub use runner::{run_suite, BatchRequest, GenerateError, Generator, RunOptions, RunSummary};
pub use suite::Suite;
