//! The native ABI: an `abi_stable` root module of `extern "C"` functions.
//!
//! Only the types and functions here cross the boundary; everything is
//! `#[repr(C)]` and layout-checked by `abi_stable` when the host loads the
//! library. Every entry point catches panics (unwinding out of an
//! `extern "C"` function aborts the process) and reports them as
//! [`FfiStatus::Panic`].

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{ROption, RSlice, RSliceMut, RStr, RString, RVec};
use abi_stable::StableAbi;

use super::{describe_json, pack_version, panic_message, parse_params, ExportedLibrary};
use crate::{LogitProcessor, PluginError, RewindRequest, Rollback, Setup, Step, TokenBytes};

pub use abi_stable;

/// How a call ended.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FfiStatus {
    Ok,
    /// The processor returned an error; `message` says why.
    Error,
    /// The processor panicked; `message` is the panic message.
    Panic,
}

/// An opaque per-sequence processor owned by the plugin.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct ProcessorHandle(pub *mut c_void);

// SAFETY: the handle is only a token for state the plugin owns; the host
// moves it between threads with the chain instance but never uses it
// concurrently, and `LogitProcessor: Send` makes the state itself movable.
unsafe impl Send for ProcessorHandle {}

#[repr(C)]
#[derive(StableAbi)]
pub struct FfiTokenBytes<'a> {
    pub data: RSlice<'a, u8>,
    pub offsets: RSlice<'a, u32>,
}

#[repr(C)]
#[derive(StableAbi)]
pub struct FfiSetup<'a> {
    pub vocab_size: usize,
    pub eos_token_id: u32,
    pub seed: u64,
    pub token_bytes: ROption<FfiTokenBytes<'a>>,
}

#[repr(C)]
#[derive(StableAbi)]
pub struct FfiStep<'a> {
    pub tokens: RSlice<'a, u32>,
    pub prompt_len: usize,
    pub step: usize,
    pub vocab_size: usize,
    pub eos_token_id: u32,
    pub raw_logits: ROption<RSlice<'a, f32>>,
}

/// Result of `create`.
#[repr(C)]
#[derive(StableAbi)]
pub struct FfiCreated {
    pub status: FfiStatus,
    pub message: RString,
    /// Valid only when `status` is `Ok`.
    pub handle: ProcessorHandle,
}

/// Result of `process`, `sample` and `accept`.
#[repr(C)]
#[derive(StableAbi)]
pub struct FfiOutcome {
    pub status: FfiStatus,
    pub message: RString,
    /// The chosen token (from `sample` only).
    pub token: u32,
    /// JSON records the processor observed during the call.
    pub observations: RVec<RString>,
}

/// A rewind request (interface 1.1), as [`PluginModule::take_rewind`]
/// returns it.
#[repr(C)]
#[derive(StableAbi)]
pub struct FfiRewind {
    pub to_len: usize,
    pub ban: RVec<u32>,
}

/// Result of [`PluginModule::rollback`]: `status` as for the other calls;
/// when it is `Ok`, `done` says whether the processor rolled itself back
/// (`false`: the host re-creates it and replays).
#[repr(C)]
#[derive(StableAbi)]
pub struct FfiRollback {
    pub status: FfiStatus,
    pub message: RString,
    pub done: bool,
}

/// Interface 1.1's additions, exported beside the root module as the plain
/// static [`REWIND_API_SYMBOL`].
///
/// Not as new prefix fields of [`PluginModule`]: `abi_stable` accepts a
/// library whose root module has *more* fields than the host expects, never
/// fewer, so a 1.1 host could no longer load 1.0 plugins. The host reads
/// this symbol only from libraries whose `logitloom_interface_version` is
/// 1.1 or newer, which is what vouches for its layout.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RewindApi {
    /// The rewind request the processor made during the last call, if any
    /// (outcomes keep their 1.0 layout, so it comes separately).
    pub take_rewind: unsafe extern "C" fn(ProcessorHandle) -> ROption<FfiRewind>,
    /// [`LogitProcessor::rollback`].
    pub rollback: unsafe extern "C" fn(ProcessorHandle, len: usize) -> FfiRollback,
}

/// The name of the exported [`RewindApi`] static.
pub const REWIND_API_SYMBOL: &str = "logitloom_rewind_api";

/// What the export macro puts in the [`REWIND_API_SYMBOL`] static.
pub const REWIND_API: RewindApi = RewindApi { take_rewind, rollback };

/// The root module of a native plugin library.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// `major << 16 | minor`, as [`pack_version`] writes it.
    pub interface_version: u32,
    /// JSON array of [`ProcessorInfo`](crate::ProcessorInfo).
    pub describe: extern "C" fn() -> RString,
    /// Creates processor number `index` (in describe order) from a JSON
    /// object of parameters.
    pub create: extern "C" fn(index: u32, params_json: RStr<'_>, setup: &FfiSetup<'_>) -> FfiCreated,
    pub process: unsafe extern "C" fn(ProcessorHandle, step: &FfiStep<'_>, logits: RSliceMut<'_, f32>) -> FfiOutcome,
    pub sample: unsafe extern "C" fn(ProcessorHandle, step: &FfiStep<'_>, logits: RSlice<'_, f32>) -> FfiOutcome,
    pub accept: unsafe extern "C" fn(ProcessorHandle, step: &FfiStep<'_>, token: u32) -> FfiOutcome,
    #[sabi(last_prefix_field)]
    pub destroy: unsafe extern "C" fn(ProcessorHandle),
}

/// `abi_stable` compares this at load too, and refuses a library whose
/// minor version is older than the host's; minor versions of the interface
/// leave the root module as it is and add symbols beside it
/// ([`RewindApi`]), so this stays at `MAJOR.0.0` and the host compares
/// [`INTERFACE_VERSION`](crate::INTERFACE_VERSION) itself, with a clearer
/// message (a unit test keeps the majors in step).
const ROOT_MODULE_VERSION: &str = "1.0.0";

impl RootModule for PluginModuleRef {
    abi_stable::declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "logitloom_plugin";
    const NAME: &'static str = "logitloom plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new(ROOT_MODULE_VERSION);
}

type BoxedProcessor = Box<dyn LogitProcessor>;

/// What a [`ProcessorHandle`] points to: the processor and the rewind
/// request of its last call, kept until the host takes it.
struct Hosted {
    processor: BoxedProcessor,
    rewind: Option<RewindRequest>,
}

/// The root module for library `L`; what the generated loader returns.
pub fn module<L: ExportedLibrary>() -> PluginModuleRef {
    use abi_stable::prefix_type::PrefixTypeTrait;
    PluginModule {
        interface_version: pack_version(L::INTERFACE_VERSION),
        describe: describe::<L>,
        create: create::<L>,
        process,
        sample,
        accept,
        destroy,
    }
    .leak_into_prefix()
}

/// The value of the exported `logitloom_interface_version` symbol.
pub fn interface_version<L: ExportedLibrary>() -> u32 {
    pack_version(L::INTERFACE_VERSION)
}

extern "C" fn describe<L: ExportedLibrary>() -> RString {
    // Building ProcessorInfo runs plugin code; a panic there must not
    // unwind into the host either. An empty list makes the host refuse the
    // library with "exports no processors".
    catch_unwind(|| describe_json(L::entries())).unwrap_or_else(|_| "[]".to_string()).into()
}

extern "C" fn create<L: ExportedLibrary>(index: u32, params_json: RStr<'_>, setup: &FfiSetup<'_>) -> FfiCreated {
    let run = || -> Result<BoxedProcessor, PluginError> {
        let entry =
            L::entries().get(index as usize).ok_or_else(|| PluginError::new(format!("no processor number {index}")))?;
        let params = parse_params(params_json.as_str().as_bytes())?;
        let token_bytes = match &setup.token_bytes {
            ROption::RSome(tb) => Some(TokenBytes { data: tb.data.as_slice(), offsets: tb.offsets.as_slice() }),
            ROption::RNone => None,
        };
        let setup =
            Setup { vocab_size: setup.vocab_size, eos_token_id: setup.eos_token_id, seed: setup.seed, token_bytes };
        (entry.create)(&params, &setup)
    };
    let null = ProcessorHandle(std::ptr::null_mut());
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(Ok(processor)) => FfiCreated {
            status: FfiStatus::Ok,
            message: RString::new(),
            handle: ProcessorHandle(Box::into_raw(Box::new(Hosted { processor, rewind: None })).cast()),
        },
        Ok(Err(e)) => FfiCreated { status: FfiStatus::Error, message: e.message.into(), handle: null },
        Err(payload) => FfiCreated { status: FfiStatus::Panic, message: panic_message(&*payload).into(), handle: null },
    }
}

/// Runs one call on the processor behind `handle`, turning its result,
/// error or panic and its observations into an [`FfiOutcome`].
///
/// # Safety
/// `handle` must come from a successful `create` of this library and not
/// have been destroyed.
unsafe fn call(
    handle: ProcessorHandle,
    step: &FfiStep<'_>,
    body: impl FnOnce(&mut BoxedProcessor, &mut Step<'_>) -> Result<u32, PluginError>,
) -> FfiOutcome {
    // SAFETY: the caller guarantees `handle` came from `create`, which
    // boxed a `Hosted`, and that nothing else uses it during this call.
    let hosted = unsafe { &mut *handle.0.cast::<Hosted>() };
    let raw_logits = match &step.raw_logits {
        ROption::RSome(r) => Some(r.as_slice()),
        ROption::RNone => None,
    };
    let mut view =
        Step::new(step.tokens.as_slice(), step.prompt_len, step.step, step.vocab_size, step.eos_token_id, raw_logits);
    let result = catch_unwind(AssertUnwindSafe(|| body(&mut hosted.processor, &mut view)));
    hosted.rewind = view.take_rewind();
    let observations: RVec<RString> = view.take_observations().into_iter().map(RString::from).collect();
    let (status, message, token) = match result {
        Ok(Ok(token)) => (FfiStatus::Ok, RString::new(), token),
        Ok(Err(e)) => (FfiStatus::Error, RString::from(e.message), 0),
        Err(payload) => (FfiStatus::Panic, RString::from(panic_message(&*payload)), 0),
    };
    FfiOutcome { status, message, token, observations }
}

unsafe extern "C" fn process(
    handle: ProcessorHandle,
    step: &FfiStep<'_>,
    mut logits: RSliceMut<'_, f32>,
) -> FfiOutcome {
    // SAFETY: the host passes a live handle from `create` (see `call`).
    unsafe { call(handle, step, |p, s| p.process(s, logits.as_mut_slice()).map(|()| 0)) }
}

unsafe extern "C" fn sample(handle: ProcessorHandle, step: &FfiStep<'_>, logits: RSlice<'_, f32>) -> FfiOutcome {
    // SAFETY: as for `process`.
    unsafe { call(handle, step, |p, s| p.sample(s, logits.as_slice())) }
}

unsafe extern "C" fn accept(handle: ProcessorHandle, step: &FfiStep<'_>, token: u32) -> FfiOutcome {
    // SAFETY: as for `process`.
    unsafe { call(handle, step, |p, s| p.accept(s, token).map(|()| token)) }
}

unsafe extern "C" fn destroy(handle: ProcessorHandle) {
    if handle.0.is_null() {
        return;
    }
    // A panicking Drop must not unwind into the host; the state is gone
    // either way.
    // SAFETY: `handle` came from `create` (a boxed `Hosted`) and the host
    // destroys it once, after its last use.
    let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(handle.0.cast::<Hosted>()) })));
}

unsafe extern "C" fn take_rewind(handle: ProcessorHandle) -> ROption<FfiRewind> {
    // SAFETY: as for `call`.
    let hosted = unsafe { &mut *handle.0.cast::<Hosted>() };
    match hosted.rewind.take() {
        Some(r) => ROption::RSome(FfiRewind { to_len: r.to_len, ban: r.ban.into() }),
        None => ROption::RNone,
    }
}

unsafe extern "C" fn rollback(handle: ProcessorHandle, len: usize) -> FfiRollback {
    // SAFETY: as for `call`.
    let hosted = unsafe { &mut *handle.0.cast::<Hosted>() };
    hosted.rewind = None;
    match catch_unwind(AssertUnwindSafe(|| hosted.processor.rollback(len))) {
        Ok(Ok(done)) => FfiRollback { status: FfiStatus::Ok, message: RString::new(), done: done == Rollback::Done },
        Ok(Err(e)) => FfiRollback { status: FfiStatus::Error, message: e.message.into(), done: false },
        Err(payload) => FfiRollback { status: FfiStatus::Panic, message: panic_message(&*payload).into(), done: false },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_stable_version_matches_interface_major_version() {
        let v = crate::INTERFACE_VERSION;
        assert_eq!(ROOT_MODULE_VERSION, format!("{}.0.0", v.major));
    }

    #[test]
    fn generated_loader_name_is_the_one_abi_stable_looks_up() {
        assert_eq!(crate::__root_module_loader_name!(), abi_stable::library::ROOT_MODULE_LOADER_NAME);
    }
}
