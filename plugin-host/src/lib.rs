//! # logitloom plugin host
//!
//! Loads logit processors — built-in, native (`abi_stable`) or WASM
//! (wasmtime) — and runs them as a chain configured in TOML.
//!
//! ```text
//! ChainSpec::from_file("conservative.toml", &builtins)   parse + check built-ins (file:line errors)
//!     .load(&HostOptions::default())          load/compile plugin files, validate all params
//!     -> LoadedChain                          Send + Sync, shared by a batch
//!     .instantiate(&SequenceSetup)            once per sequence
//!     -> ChainInstance.step(tokens, prompt_len, step, logits) -> token
//!        ChainInstance.decide(...) -> Decision::Token | Decision::Rewind (for callers that can go back)
//! ```
//!
//! ## Design choices
//!
//! * **Everything is validated before the first token.** Unknown plugins,
//!   missing files, parameters of the wrong type or range, a missing or
//!   misplaced sampler: each is a [`ChainError`] naming file, line, stage
//!   and parameter, raised by [`ChainSpec::from_file`] or
//!   [`ChainSpec::load`].
//! * **One code path for every kind of plugin.** Built-ins, native and WASM
//!   stages all sit behind one internal runner trait, so the chain logic,
//!   the NaN/-inf check after every stage and error reporting are shared.
//! * **Plugins cannot take the engine down** — within what each ABI allows.
//!   Panics are caught (in the plugin-side glue for native plugins, since
//!   unwinding across `extern "C"` aborts); WASM traps, deadlines and
//!   memory overruns become errors. Every error names the stage, the plugin
//!   and the step. Native plugins are trusted: an endless loop in one hangs
//!   the process, which is why untrusted code should be WASM.
//! * **Errors are sticky per sequence.** After a failed step the
//!   [`ChainInstance`] refuses to continue, since a stage's state may be
//!   half-updated; a new sequence instantiates afresh.

mod chain;
mod config;
mod error;
mod library;
mod limits;
mod logits_check;
mod native;
mod options;
mod origin;
mod runner;
mod stage;
mod wasm;

pub use chain::{
    ChainInstance, Decision, LoadedChain, Observation, OwnedTokenBytes, RewindEvent, RewindTotals, SequenceSetup,
};
pub use config::{ChainSpec, StageSpec};
pub use error::{ChainError, HostError, Location, StageFailure};
pub use library::{default_plugin_dirs, is_wasm_path, plugin_files, PluginLibrary};
pub use limits::{ObserveLimits, MAX_DESCRIBE_BYTES, MAX_ERROR_BYTES, MAX_PARAMS_JSON_BYTES};
pub use logits_check::check_logits;
pub use options::{default_module_cache_dir, HostOptions};
pub use origin::{PluginKind, PluginOrigin};
pub use stage::RewindBudget;

pub use logitloom_plugin_api::{ParamValue, ProcessorInfo, RewindRequest, Rollback, StageKind, INTERFACE_VERSION};

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn loaded_chains_are_shared_and_instances_moved_between_threads() {
        assert_send_sync::<super::LoadedChain>();
        assert_send::<super::ChainInstance>();
    }
}
