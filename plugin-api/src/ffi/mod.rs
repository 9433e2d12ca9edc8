//! The two binary interfaces a plugin library exports, and the glue that
//! [`export_plugin!`](crate::export_plugin) generates for them.
//!
//! Both ABIs share one shape: the library *describes* its processors as
//! JSON (rare, small), *creates* one processor per sequence from JSON
//! parameters, and then runs `process`/`sample`/`accept` on raw `f32`/`u32`
//! memory (hot). Errors and panics come back as values, never as unwinding
//! across the boundary.
//!
//! * Native (`cdylib`, [`native`]): an `abi_stable` root module whose layout
//!   the host checks at load, plus a plain `logitloom_interface_version`
//!   symbol the host reads *first*, so a plugin built against another
//!   interface gets a message naming both versions instead of a layout diff.
//! * WASM (`wasm32-unknown-unknown`, [`wasm`]): plain exported functions over
//!   the module's linear memory, specified in `docs/wasm-abi.md` so a module
//!   can be written without this crate.

use crate::{InterfaceVersion, ProcessorEntry};

#[cfg(not(target_arch = "wasm32"))]
pub mod native;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

/// Name of the version function both ABIs export.
pub const INTERFACE_VERSION_SYMBOL: &str = "logitloom_interface_version";

/// The version as the exported function returns it: `major << 16 | minor`.
pub const fn pack_version(v: InterfaceVersion) -> u32 {
    (v.major << 16) | (v.minor & 0xffff)
}

pub const fn unpack_version(packed: u32) -> InterfaceVersion {
    InterfaceVersion { major: packed >> 16, minor: packed & 0xffff }
}

/// What a library exports, as the generated glue sees it. The macro
/// implements this for a hidden unit type so the glue functions can be
/// generic instead of being written out in the macro.
pub trait ExportedLibrary: 'static {
    /// The interface this library was built against. Only the test suite's
    /// deliberately outdated plugin overrides it.
    const INTERFACE_VERSION: InterfaceVersion = crate::INTERFACE_VERSION;
    fn entries() -> &'static [ProcessorEntry];
}

/// The JSON the library's describe function returns: its processors.
pub fn describe_json(entries: &[ProcessorEntry]) -> String {
    let infos: Vec<crate::ProcessorInfo> = entries.iter().map(|e| (e.info)()).collect();
    serde_json::to_string(&infos).expect("ProcessorInfo always serialises")
}

/// Text of a panic payload, for the error the host shows.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Turns the JSON parameter object the host sends into a map.
pub fn parse_params(json: &[u8]) -> Result<std::collections::BTreeMap<String, crate::ParamValue>, crate::PluginError> {
    serde_json::from_slice(json)
        .map_err(|e| crate::PluginError::new(format!("parameters are not a JSON object of values: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_packing_round_trips() {
        let v = InterfaceVersion { major: 3, minor: 7 };
        assert_eq!(pack_version(v), 0x0003_0007);
        assert_eq!(unpack_version(0x0003_0007), v);
    }
}
