//! Native plugin libraries (`.so`/`.dylib`/`.dll`) through `abi_stable`.
//!
//! `abi_stable`'s `RootModule::load_from_*` caches one module per root
//! module *type*, and every logitloom plugin has the same root module type,
//! so loading goes through the library header instead
//! (`lib_header_from_path` + `init_root_module`), which checks the layout
//! per library and lets any number of plugins share a process.
//!
//! Before that, the plain `logitloom_interface_version` symbol is read, so
//! a plugin built against another interface is refused with both versions
//! named rather than with an `abi_stable` layout diff.
//!
//! Native plugins are trusted: they run in the host's address space, their
//! panics are caught by the glue the export macro generates, but an endless
//! loop or a wild pointer cannot be contained. Untrusted code belongs in
//! WASM.

use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, RawLibrary};
use abi_stable::std_types::{ROption, RSlice, RSliceMut, RStr};
use logitloom_plugin_api::ffi::native::{
    FfiOutcome, FfiSetup, FfiStatus, FfiStep, FfiTokenBytes, PluginModuleRef, ProcessorHandle, RewindApi,
    REWIND_API_SYMBOL,
};
use logitloom_plugin_api::ffi::{unpack_version, INTERFACE_VERSION_SYMBOL};
use logitloom_plugin_api::{InterfaceVersion, ProcessorInfo, RewindRequest, Rollback, Setup, INTERFACE_VERSION};

use crate::error::{HostError, StageFailure};
use crate::runner::{Records, StageRunner, StepContext};

/// A loaded native library. Libraries are never unloaded (as with
/// `abi_stable` generally): code from them may still be referenced.
#[derive(Clone)]
pub(crate) struct NativeLibrary {
    pub path: PathBuf,
    pub module: PluginModuleRef,
    pub processors: Vec<ProcessorInfo>,
    /// Interface 1.1's rewind functions; `None` for 1.0 libraries.
    rewind: Option<RewindApi>,
}

impl NativeLibrary {
    pub fn open(path: &Path) -> Result<NativeLibrary, HostError> {
        let load_error = |message: String| HostError::Load { path: path.to_path_buf(), message };
        let raw = RawLibrary::load_at(path)
            .map_err(|e| load_error(format!("not a loadable native library: {}", one_line(&e.to_string()))))?;
        let version = {
            let symbol = format!("{INTERFACE_VERSION_SYMBOL}\0");
            // SAFETY: the symbol's type is fixed by the plugin API; a library
            // exporting the name with another type is not a logitloom plugin
            // and is out of our hands, as with any native code.
            let version_fn = unsafe { raw.get::<extern "C" fn() -> u32>(symbol.as_bytes()) }.map_err(|_| {
                load_error(format!(
                    "not a logitloom plugin (no `{INTERFACE_VERSION_SYMBOL}` symbol; was it built with export_plugin!?)"
                ))
            })?;
            unpack_version(version_fn())
        };
        if !version.can_be_hosted_by(INTERFACE_VERSION) {
            return Err(HostError::IncompatibleVersion {
                path: path.to_path_buf(),
                plugin: version,
                host: INTERFACE_VERSION,
            });
        }
        let rewind = if version.can_be_hosted_by(InterfaceVersion { major: 1, minor: 0 }) {
            None
        } else {
            let symbol = format!("{REWIND_API_SYMBOL}\0");
            // SAFETY: a library reporting interface 1.1 or newer exports this
            // static with the plugin API's `RewindApi` layout (the export
            // macro does it); the library is never unloaded.
            let api = unsafe { raw.get::<*const RewindApi>(symbol.as_bytes()) }.map_err(|_| {
                load_error(format!("reports interface {version} but has no `{REWIND_API_SYMBOL}` symbol"))
            })?;
            // SAFETY: as above; the symbol's address is the static's.
            Some(unsafe { **api })
        };
        let header = lib_header_from_path(path).map_err(|e| load_error(one_line(&e.to_string())))?;
        let module = header
            .init_root_module::<PluginModuleRef>()
            .map_err(|e| load_error(format!("incompatible plugin library: {}", one_line(&e.to_string()))))?;
        // A native plugin's describe string is already in our memory (it is
        // trusted code); the bound only keeps a runaway one from being parsed.
        let described = (module.describe())();
        if described.len() > crate::limits::MAX_DESCRIBE_BYTES {
            return Err(load_error(format!(
                "the library's processor list is {} bytes; at most {} are accepted",
                described.len(),
                crate::limits::MAX_DESCRIBE_BYTES
            )));
        }
        let processors: Vec<ProcessorInfo> = serde_json::from_str(described.as_str())
            .map_err(|e| load_error(format!("the library's processor list is not valid: {e}")))?;
        if processors.is_empty() {
            return Err(load_error("the library exports no processors".into()));
        }
        Ok(NativeLibrary { path: path.to_path_buf(), module, processors, rewind })
    }

    pub fn create(&self, index: usize, params_json: &str, setup: &Setup<'_>) -> Result<NativeRunner, StageFailure> {
        let ffi_setup = FfiSetup {
            vocab_size: setup.vocab_size,
            eos_token_id: setup.eos_token_id,
            seed: setup.seed,
            token_bytes: match setup.token_bytes {
                Some(tb) => ROption::RSome(FfiTokenBytes {
                    data: RSlice::from_slice(tb.data),
                    offsets: RSlice::from_slice(tb.offsets),
                }),
                None => ROption::RNone,
            },
        };
        let created = (self.module.create())(index as u32, RStr::from_str(params_json), &ffi_setup);
        match created.status {
            FfiStatus::Ok => Ok(NativeRunner { module: self.module, rewind: self.rewind, handle: created.handle }),
            FfiStatus::Error => Err(StageFailure::Error(created.message.into_string())),
            FfiStatus::Panic => Err(StageFailure::Panic(created.message.into_string())),
        }
    }
}

/// `abi_stable` errors span several lines; error lines must be one.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One processor living in a native library.
pub(crate) struct NativeRunner {
    module: PluginModuleRef,
    rewind: Option<RewindApi>,
    handle: ProcessorHandle,
}

fn ffi_step<'a>(ctx: &StepContext<'a>, raw: bool) -> FfiStep<'a> {
    FfiStep {
        tokens: RSlice::from_slice(ctx.tokens),
        prompt_len: ctx.prompt_len,
        step: ctx.step,
        vocab_size: ctx.vocab_size,
        eos_token_id: ctx.eos_token_id,
        raw_logits: match ctx.raw_logits {
            Some(r) if raw => ROption::RSome(RSlice::from_slice(r)),
            _ => ROption::RNone,
        },
    }
}

fn outcome(result: FfiOutcome, out: &mut Records) -> Result<u32, StageFailure> {
    out.observations.extend(result.observations.into_iter().map(|r| r.into_string()));
    match result.status {
        FfiStatus::Ok => Ok(result.token),
        FfiStatus::Error => Err(StageFailure::Error(result.message.into_string())),
        FfiStatus::Panic => Err(StageFailure::Panic(result.message.into_string())),
    }
}

impl NativeRunner {
    /// Collects the rewind request of the call just made (1.1 plugins).
    fn take_rewind(&mut self, out: &mut Records) {
        if let Some(api) = self.rewind {
            // SAFETY: the handle came from this module's `create` and lives
            // until Drop.
            if let ROption::RSome(r) = unsafe { (api.take_rewind)(self.handle) } {
                out.rewind = Some(RewindRequest { to_len: r.to_len, ban: r.ban.into_vec() });
            }
        }
    }
}

impl StageRunner for NativeRunner {
    fn process(&mut self, ctx: &StepContext<'_>, logits: &mut [f32], out: &mut Records) -> Result<(), StageFailure> {
        // SAFETY: the handle came from this module's `create` and lives
        // until Drop.
        let result =
            unsafe { (self.module.process())(self.handle, &ffi_step(ctx, true), RSliceMut::from_mut_slice(logits)) };
        self.take_rewind(out);
        outcome(result, out).map(drop)
    }
    fn sample(&mut self, ctx: &StepContext<'_>, logits: &[f32], out: &mut Records) -> Result<u32, StageFailure> {
        // SAFETY: as in `process`.
        let result = unsafe { (self.module.sample())(self.handle, &ffi_step(ctx, true), RSlice::from_slice(logits)) };
        self.take_rewind(out);
        outcome(result, out)
    }
    fn accept(&mut self, ctx: &StepContext<'_>, token: u32, out: &mut Records) -> Result<(), StageFailure> {
        // SAFETY: as in `process`.
        let result = unsafe { (self.module.accept())(self.handle, &ffi_step(ctx, false), token) };
        self.take_rewind(out);
        outcome(result, out).map(drop)
    }
    fn rollback(&mut self, len: usize) -> Result<Rollback, StageFailure> {
        let Some(api) = self.rewind else { return Ok(Rollback::Replay) };
        // SAFETY: as in `process`.
        let result = unsafe { (api.rollback)(self.handle, len) };
        match result.status {
            FfiStatus::Ok if result.done => Ok(Rollback::Done),
            FfiStatus::Ok => Ok(Rollback::Replay),
            FfiStatus::Error => Err(StageFailure::Error(result.message.into_string())),
            FfiStatus::Panic => Err(StageFailure::Panic(result.message.into_string())),
        }
    }
}

impl Drop for NativeRunner {
    fn drop(&mut self) {
        // SAFETY: `handle` came from this module's `create` and is destroyed
        // once, here; the library outlives it (`module` holds it).
        unsafe { (self.module.destroy())(self.handle) }
    }
}
