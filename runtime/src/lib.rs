//! # logitloom runtime
//!
//! The one place where the model and the decoding meet. The engine
//! (`logitloom-engine`) runs GPT-2 and asks a [`SequenceSampler`] per
//! sequence for each token; the plugin host (`logitloom-plugin-host`) runs
//! chains of logit processors. Neither knows the other, so the engine
//! builds on `tch` alone and the host on the plugin ABIs alone. This crate
//! implements the engine's sampler with a chain instance and hands back
//! what the chain observed along with the tokens.
//!
//! ## Layers
//!
//! ```text
//! cli, bench, trainer, serve, python   front-ends
//! runtime                              engine + chains           (this crate)
//! engine        plugin-host            model and cache | chains, libraries, sandboxes
//!               builtins               std + java-grammar, handed to the host by each program
//!               plugins/*              std, java-grammar, test plugins
//! plugin-api    numerics               the plugin ABI | shared exp, RNGs and hashes
//! ```
//!
//! Each crate depends only on crates below it; `cargo tree -p
//! logitloom-engine` shows no wasmtime, and the plugins build without tch.
//!
//! [`SequenceSampler`]: logitloom_engine::generate::SequenceSampler

mod chain;

use logitloom_plugin_host::PluginLibrary;

pub use chain::{generate_with_chain, model_token_bytes, ChainSampler, ChainSequenceOutput};

/// The built-in processors (`logitloom_builtins`), as the registry that
/// chain files' `plugin = "..."` names resolve to.
pub fn builtins() -> PluginLibrary {
    PluginLibrary::from_entries(logitloom_builtins::entries())
}

/// What generating through a chain can fail with: the model's errors or the
/// chain's, each already one line naming what is at fault.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Engine(#[from] logitloom_engine::EngineError),
    #[error(transparent)]
    Chain(#[from] logitloom_plugin_host::HostError),
}
