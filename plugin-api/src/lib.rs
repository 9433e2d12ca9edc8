//! # logitloom plugin API
//!
//! The one interface that every logit processor, every sampler and the
//! engine build against. A plugin author implements [`LogitProcessor`] for a
//! type and lists the type in [`export_plugin!`]; the same source then builds
//! as a native `cdylib` (loaded through `abi_stable`) and as a
//! `wasm32-unknown-unknown` module (loaded through wasmtime).
//!
//! ## Design choices
//!
//! * **Everything that is not on the hot path crosses the boundary as JSON.**
//!   Processor descriptions, parameters and observations are small and rare,
//!   so a self-describing format keeps the ABI tiny and lets a plugin be
//!   written without our SDK (see `docs/wasm-abi.md`). The hot path — the
//!   logits row and the token ids — is raw `f32`/`u32` memory.
//! * **Parameters are declared, not parsed by the plugin.** A processor
//!   declares its parameters with types and ranges ([`ParamSpec`]); the host
//!   validates a chain config against those declarations before any token is
//!   generated, so errors point at the user's file, line and key.
//! * **One library, several processors.** A module may export any number of
//!   processors; a chain stage picks one by name.
//! * **Versioned.** [`INTERFACE_VERSION`] is checked at load: a plugin with a
//!   different major version, or a newer minor version than the host, is
//!   refused with both versions named.

mod export;
#[doc(hidden)]
pub mod ffi;
mod params;
mod processor;

pub use params::{ParamError, ParamKind, ParamSpec, ParamValue, Params};
pub use processor::{
    create_validated, LogitProcessor, PluginError, ProcessorEntry, ProcessorInfo, RewindRequest, Rollback, Setup,
    StageKind, Step, TokenBytes,
};

/// Version of this interface. Bump `major` for any change a plugin built
/// against the old version could not survive; bump `minor` for additions.
///
/// 1.1 added rewinds: [`Step::rewind`] and [`LogitProcessor::rollback`]
/// (native: two prefix fields after `destroy`; WASM: the optional
/// `logitloom.rewind` import and `logitloom_rollback` export). 1.0 plugins
/// load unchanged: they never ask, and the host rolls them back by replay.
pub const INTERFACE_VERSION: InterfaceVersion = InterfaceVersion { major: 1, minor: 1 };

/// A `major.minor` interface version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InterfaceVersion {
    pub major: u32,
    pub minor: u32,
}

impl InterfaceVersion {
    /// A plugin can be hosted when it shares the host's major version and
    /// needs nothing newer than the host's minor version.
    pub fn can_be_hosted_by(self, host: InterfaceVersion) -> bool {
        self.major == host.major && self.minor <= host.minor
    }
}

impl std::fmt::Display for InterfaceVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}
