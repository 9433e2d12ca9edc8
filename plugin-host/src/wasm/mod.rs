//! WASM plugin modules through wasmtime.
//!
//! WASM plugins are untrusted. Each instance gets a memory limit (a
//! `StoreLimits` that traps on growth beyond it) and every call a deadline
//! (epoch interruption); a trap, timeout or memory overrun becomes a
//! [`StageFailure`]. The module may import nothing but `logitloom.observe`
//! and (1.1) `logitloom.rewind`: no WASI, no host access.
//!
//! The hot path follows `docs/wasm-abi.md`: per instance the host allocates
//! one logits buffer (and one token buffer, regrown by doubling) inside the
//! module's memory. That buffer is the runner's "own row"
//! ([`StageRunner::own_row`]): the chain moves the logits row into it only
//! when it is elsewhere, and other stages read it there, so a call costs at
//! most one memcpy in and none out. The module is compiled once (and cached on disk, see
//! [`engine`]); per sequence an `InstancePre` is instantiated, which is a
//! few microseconds.

mod engine;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use logitloom_plugin_api::ffi::{unpack_version, INTERFACE_VERSION_SYMBOL};
use logitloom_plugin_api::{
    InterfaceVersion, ProcessorInfo, RewindRequest, Rollback, Setup, StageKind, INTERFACE_VERSION,
};
use wasmtime::{
    Caller, Extern, Instance, InstancePre, Linker, Memory, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder,
    Trap, TypedFunc,
};

use crate::error::{HostError, StageFailure};
use crate::limits::{error_text, parse_record, ObserveBudget, ObserveLimits, MAX_DESCRIBE_BYTES, MAX_ERROR_BYTES};
use crate::runner::{Records, StageRunner, StepContext};

#[cfg(target_endian = "big")]
compile_error!("the WASM hot path copies f32/u32 rows as little-endian bytes");

/// Per-store host data: the memory limiter and observations of the
/// current call.
pub(crate) struct WasmState {
    limiter: Limiter,
    observations: Vec<String>,
    /// The rewind request of the current call, or why it was unreadable.
    rewind: Option<Result<RewindRequest, String>>,
    /// What this instance has observed at the current step.
    observed: ObserveBudget,
    /// When the current call's deadline passes: set before the host starts
    /// work for a call (copying its inputs), so that work, the module's and
    /// the imports' all count against one deadline.
    deadline_at: Option<Instant>,
    deadline: Duration,
    /// Why an import stopped the call (a limit, the deadline): reported
    /// instead of the trap the import's error becomes.
    failure: Option<StageFailure>,
}

impl WasmState {
    /// Ends the current call from inside an import with `failure`.
    fn fail(&mut self, failure: StageFailure) -> wasmtime::Error {
        let error = wasmtime::Error::msg(failure.to_string());
        self.failure = Some(failure);
        error
    }

    fn past_deadline(&self) -> bool {
        self.deadline_at.is_some_and(|at| Instant::now() >= at)
    }
}

/// The most tokens one rewind request may ban: a ban list is a handful of
/// ids, and the host copies it out of the module.
pub(crate) const MAX_REWIND_BANS: usize = 4096;

/// `StoreLimits`, remembering whether it refused a growth so the failure
/// can be reported as a memory overrun rather than a generic trap.
struct Limiter {
    limits: StoreLimits,
    exceeded: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let verdict = self.limits.memory_growing(current, desired, maximum);
        if !matches!(verdict, Ok(true)) {
            self.exceeded = true;
        }
        verdict
    }
    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
}

type CreateArgs = (u32, u32, u32, u32, u32, u64, u32, u32, u32, u32);
type StepArgs = (u32, u32, u32, u32, u32, u32, u32);
type AcceptArgs = (u32, u32, u32, u32, u32, u32);

/// The exports an instance is driven through.
struct Exports {
    memory: Memory,
    last_error: TypedFunc<(), u64>,
    alloc: TypedFunc<(u32, u32), u32>,
    create: TypedFunc<CreateArgs, i32>,
    process: Option<TypedFunc<StepArgs, i32>>,
    sample: Option<TypedFunc<StepArgs, i64>>,
    accept: TypedFunc<AcceptArgs, i32>,
    /// 1.1, optional: without it the host rolls the stage back by replay.
    rollback: Option<TypedFunc<u32, i32>>,
}

impl Exports {
    fn get(instance: &Instance, store: &mut Store<WasmState>) -> Result<Exports, String> {
        fn func<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
            instance: &Instance,
            store: &mut Store<WasmState>,
            name: &str,
        ) -> Result<Option<TypedFunc<P, R>>, String> {
            match instance.get_export(&mut *store, name) {
                None => Ok(None),
                Some(Extern::Func(f)) => {
                    f.typed(&*store).map(Some).map_err(|e| format!("export `{name}` has the wrong signature: {e}"))
                }
                Some(_) => Err(format!("export `{name}` is not a function")),
            }
        }
        let required = |name: &str| format!("missing export `{name}` (see docs/wasm-abi.md)");
        let memory = instance.get_memory(&mut *store, "memory").ok_or_else(|| required("memory"))?;
        Ok(Exports {
            memory,
            last_error: func(instance, store, "logitloom_last_error")?
                .ok_or_else(|| required("logitloom_last_error"))?,
            alloc: func(instance, store, "logitloom_alloc")?.ok_or_else(|| required("logitloom_alloc"))?,
            create: func(instance, store, "logitloom_create")?.ok_or_else(|| required("logitloom_create"))?,
            process: func(instance, store, "logitloom_process")?,
            sample: func(instance, store, "logitloom_sample")?,
            accept: func(instance, store, "logitloom_accept")?.ok_or_else(|| required("logitloom_accept"))?,
            rollback: func(instance, store, "logitloom_rollback")?,
        })
    }
}

/// A compiled, checked WASM plugin module.
pub(crate) struct WasmLibrary {
    pub path: PathBuf,
    pub interface: InterfaceVersion,
    pub processors: Vec<ProcessorInfo>,
    pre: InstancePre<WasmState>,
    deadline: Duration,
    memory_limit: usize,
}

impl WasmLibrary {
    pub fn open(
        path: &Path,
        deadline: Duration,
        memory_limit: usize,
        cache_dir: Option<&Path>,
    ) -> Result<WasmLibrary, HostError> {
        let load_error = |message: String| HostError::Load { path: path.to_path_buf(), message };
        let bytes = std::fs::read(path).map_err(|e| load_error(format!("cannot read: {e}")))?;
        let module = engine::compile(&bytes, cache_dir)
            .map_err(|e| load_error(format!("not a valid WASM module: {}", one_line(&e))))?;
        for import in module.imports() {
            if !matches!((import.module(), import.name()), ("logitloom", "observe" | "rewind")) {
                return Err(load_error(format!(
                    "imports `{}.{}`, but a plugin may import only `logitloom.observe` and `logitloom.rewind` (no WASI)",
                    import.module(),
                    import.name()
                )));
            }
        }
        if module.get_export(INTERFACE_VERSION_SYMBOL).is_none() {
            return Err(load_error(format!("not a logitloom plugin (no `{INTERFACE_VERSION_SYMBOL}` export)")));
        }
        let mut linker: Linker<WasmState> = Linker::new(engine::engine());
        linker
            .func_wrap("logitloom", "observe", observe)
            .map_err(|e| load_error(format!("cannot define the observe import: {e}")))?;
        linker
            .func_wrap("logitloom", "rewind", rewind)
            .map_err(|e| load_error(format!("cannot define the rewind import: {e}")))?;
        let pre = linker.instantiate_pre(&module).map_err(|e| load_error(one_line(&e)))?;
        let mut library = WasmLibrary {
            path: path.to_path_buf(),
            interface: INTERFACE_VERSION,
            processors: vec![],
            pre,
            deadline,
            memory_limit,
        };

        let mut store = library.new_store();
        let instance = library
            .pre
            .instantiate(&mut store)
            .map_err(|e| load_error(format!("cannot instantiate: {}", one_line(&e))))?;
        let version: TypedFunc<(), u32> = instance
            .get_typed_func(&mut store, INTERFACE_VERSION_SYMBOL)
            .map_err(|e| load_error(format!("`{INTERFACE_VERSION_SYMBOL}` has the wrong signature: {e}")))?;
        store.set_epoch_deadline(engine::deadline_ticks(deadline));
        let version = unpack_version(version.call(&mut store, ()).map_err(|e| load_error(one_line(&e)))?);
        if !version.can_be_hosted_by(INTERFACE_VERSION) {
            return Err(HostError::IncompatibleVersion {
                path: path.to_path_buf(),
                plugin: version,
                host: INTERFACE_VERSION,
            });
        }
        library.interface = version;

        let exports = Exports::get(&instance, &mut store).map_err(load_error)?;
        let describe: TypedFunc<(), u64> = match instance.get_export(&mut store, "logitloom_describe") {
            Some(Extern::Func(f)) => {
                f.typed(&store).map_err(|e| load_error(format!("`logitloom_describe` has the wrong signature: {e}")))?
            }
            _ => return Err(load_error("missing export `logitloom_describe` (see docs/wasm-abi.md)".into())),
        };
        store.set_epoch_deadline(engine::deadline_ticks(deadline));
        let packed = describe
            .call(&mut store, ())
            .map_err(|e| load_error(format!("logitloom_describe failed: {}", one_line(&e))))?;
        let json = read_packed(&exports.memory, &store, packed, Some(MAX_DESCRIBE_BYTES))
            .map_err(|e| load_error(format!("logitloom_describe {e}")))?;
        let processors: Vec<ProcessorInfo> = serde_json::from_slice(&json)
            .map_err(|e| load_error(format!("logitloom_describe returned an invalid processor list: {e}")))?;
        if processors.is_empty() {
            return Err(load_error("the module exports no processors".into()));
        }
        for (kind, kind_name, export, present) in [
            (StageKind::Processor, "processor", "logitloom_process", exports.process.is_some()),
            (StageKind::Sampler, "sampler", "logitloom_sample", exports.sample.is_some()),
        ] {
            if let Some(p) = processors.iter().find(|p| p.kind == kind) {
                if !present {
                    return Err(load_error(format!(
                        "missing export `{export}`, needed by {kind_name} `{}` (see docs/wasm-abi.md)",
                        p.name
                    )));
                }
            }
        }
        library.processors = processors;
        Ok(library)
    }

    fn new_store(&self) -> Store<WasmState> {
        self.new_store_with(ObserveLimits::default())
    }

    fn new_store_with(&self, observe: ObserveLimits) -> Store<WasmState> {
        let limits = StoreLimitsBuilder::new().memory_size(self.memory_limit).trap_on_grow_failure(true).build();
        let state = WasmState {
            limiter: Limiter { limits, exceeded: false },
            observations: vec![],
            rewind: None,
            observed: ObserveBudget::new(observe),
            deadline_at: None,
            deadline: self.deadline,
            failure: None,
        };
        let mut store = Store::new(engine::engine(), state);
        store.limiter(|state| &mut state.limiter);
        store
    }

    /// A fresh instance holding processor `index`, created from `params_json`.
    pub fn create(
        &self,
        index: usize,
        info: &ProcessorInfo,
        params_json: &str,
        setup: &Setup<'_>,
        observe: ObserveLimits,
    ) -> Result<WasmRunner, StageFailure> {
        let mut store = self.new_store_with(observe);
        let ticks = engine::deadline_ticks(self.deadline);
        store.set_epoch_deadline(ticks);
        let instance = match self.pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(e) => {
                return Err(if store.data().limiter.exceeded {
                    StageFailure::MemoryLimit(self.memory_limit)
                } else {
                    StageFailure::Trap(format!("cannot instantiate: {}", one_line(&e)))
                })
            }
        };
        let exports = Exports::get(&instance, &mut store).map_err(StageFailure::Trap)?;
        let mut runner = WasmRunner {
            store,
            exports,
            ticks,
            deadline: self.deadline,
            memory_limit: self.memory_limit,
            vocab_size: setup.vocab_size,
            logits_ptr: 0,
            raw_ptr: 0,
            tokens_ptr: 0,
            tokens_capacity: 0,
        };
        runner.logits_ptr = runner.alloc(setup.vocab_size * 4, 4)?;
        if info.needs_raw_logits {
            runner.raw_ptr = runner.alloc(setup.vocab_size * 4, 4)?;
        }
        // From here the host copies the create call's inputs in: that work
        // and the call share one deadline.
        runner.begin(None);
        let params_ptr = runner.alloc_bytes(params_json.as_bytes(), 1)?;
        let (tb_data, tb_data_len, tb_offsets, tb_offsets_len) = match setup.token_bytes {
            Some(tb) => (
                runner.alloc_bytes(tb.data, 1)?,
                tb.data.len() as u32,
                runner.alloc_bytes(as_bytes(tb.offsets), 4)?,
                tb.offsets.len() as u32,
            ),
            None => (0, 0, 0, 0),
        };
        let create = runner.exports.create.clone();
        let status = runner.call(|store| {
            create.call(
                store,
                (
                    index as u32,
                    params_ptr,
                    params_json.len() as u32,
                    setup.vocab_size as u32,
                    setup.eos_token_id,
                    setup.seed,
                    tb_data,
                    tb_data_len,
                    tb_offsets,
                    tb_offsets_len,
                ),
            )
        })?;
        if status != 0 {
            return Err(StageFailure::Error(runner.last_error()));
        }
        Ok(runner)
    }
}

/// The `logitloom.observe(ptr, len)` import: copies one JSON record out,
/// within the chain's `[observe]` limits (checked before copying) and the
/// call's deadline. A record past a limit, outside the module's memory, not
/// UTF-8 or not JSON stops the call with an error saying so.
fn observe(mut caller: Caller<'_, WasmState>, ptr: u32, len: u32) -> wasmtime::Result<()> {
    if caller.data().past_deadline() {
        let deadline = caller.data().deadline;
        return Err(caller.data_mut().fail(StageFailure::Timeout(deadline)));
    }
    if let Err(message) = caller.data_mut().observed.admit(len as usize) {
        return Err(caller.data_mut().fail(StageFailure::Error(message)));
    }
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return Err(caller.data_mut().fail(StageFailure::Error("observe: the module exports no memory".into())));
    };
    let record = match memory.data(&caller).get(ptr as usize..ptr as usize + len as usize) {
        None => Err(format!("observe: a record at {ptr}+{len}, outside its memory")),
        Some(bytes) => parse_record(bytes).map(|_| String::from_utf8(bytes.to_vec()).expect("checked by parse_record")),
    };
    match record {
        Ok(record) => {
            caller.data_mut().observations.push(record);
            Ok(())
        }
        Err(message) => Err(caller.data_mut().fail(StageFailure::Error(message))),
    }
}

/// The `logitloom.rewind(to_len, ban_ptr, ban_len)` import (1.1): copies
/// the request out; the chain validates and grants or refuses it after the
/// call.
fn rewind(mut caller: Caller<'_, WasmState>, to_len: u32, ban_ptr: u32, ban_len: u32) {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else { return };
    let request = if ban_len as usize > MAX_REWIND_BANS {
        Err(format!("asked to rewind with {ban_len} banned tokens; at most {MAX_REWIND_BANS}"))
    } else {
        let start = ban_ptr as usize;
        match memory.data(&caller).get(start..start + ban_len as usize * 4) {
            Some(bytes) => Ok(RewindRequest {
                to_len: to_len as usize,
                ban: bytes.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            }),
            None => Err(format!(
                "asked to rewind with a ban list at {ban_ptr}+{}, outside its memory",
                ban_len as usize * 4
            )),
        }
    };
    caller.data_mut().rewind = Some(request);
}

fn one_line(e: &wasmtime::Error) -> String {
    format!("{e:#}").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The string a packed `(ptr << 32) | len` names, checked to lie in the
/// module's memory; longer than `max` is refused before anything is copied.
fn read_packed(memory: &Memory, store: &Store<WasmState>, packed: u64, max: Option<usize>) -> Result<Vec<u8>, String> {
    let (ptr, len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
    if let Some(max) = max.filter(|&max| len > max) {
        return Err(format!("returned {len} bytes; at most {max} are accepted"));
    }
    memory
        .data(store)
        .get(ptr..ptr + len)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| format!("returned a string at {ptr}+{len}, outside its memory"))
}

/// Error text a packed result names: only its first
/// [`MAX_ERROR_BYTES`] are copied; the rest is cut with a marker.
fn read_error(memory: &Memory, store: &Store<WasmState>, packed: u64) -> Result<String, String> {
    let (ptr, len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
    let data = memory.data(store);
    if data.get(ptr..ptr + len).is_none() {
        return Err(format!("returned a string at {ptr}+{len}, outside its memory"));
    }
    Ok(error_text(&data[ptr..ptr + len.min(MAX_ERROR_BYTES + 4)], len))
}

fn as_bytes<T: Copy>(values: &[T]) -> &[u8] {
    // SAFETY: only used for f32/u32 slices, which have no padding and
    // whose bytes are valid u8s.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast(), std::mem::size_of_val(values)) }
}

/// One processor in its own instance.
pub(crate) struct WasmRunner {
    store: Store<WasmState>,
    exports: Exports,
    ticks: u64,
    deadline: Duration,
    memory_limit: usize,
    vocab_size: usize,
    logits_ptr: u32,
    raw_ptr: u32,
    tokens_ptr: u32,
    tokens_capacity: usize,
}

impl WasmRunner {
    /// Starts the deadline of a call the host is about to make on behalf
    /// of `step` (`None`: not a step call), before it copies the call's
    /// inputs in.
    fn begin(&mut self, step: Option<usize>) {
        let state = self.store.data_mut();
        state.deadline_at = Some(Instant::now() + self.deadline);
        if let Some(step) = step {
            state.observed.at_step(step);
        }
    }

    /// Runs a call into the module under what is left of the deadline
    /// [`begin`](Self::begin) started, classifying a failure as timeout,
    /// memory overrun, an import's refusal or trap.
    fn call<R>(&mut self, body: impl FnOnce(&mut Store<WasmState>) -> wasmtime::Result<R>) -> Result<R, StageFailure> {
        let ticks = match self.store.data().deadline_at {
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(StageFailure::Timeout(self.deadline));
                }
                engine::deadline_ticks(left)
            }
            None => self.ticks,
        };
        self.store.set_epoch_deadline(ticks);
        body(&mut self.store).map_err(|e| {
            if let Some(failure) = self.store.data_mut().failure.take() {
                failure
            } else if self.store.data().limiter.exceeded {
                StageFailure::MemoryLimit(self.memory_limit)
            } else if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
                StageFailure::Timeout(self.deadline)
            } else {
                // Our Rust glue stores a panic's message before the abort
                // traps; a module without it simply has none to add.
                let detail = self.last_error_after_trap();
                let trap = one_line(&e);
                StageFailure::Trap(if detail.is_empty() { trap } else { format!("{detail} ({trap})") })
            }
        })
    }

    /// The module's message for a failed call, under a deadline of its own.
    fn last_error(&mut self) -> String {
        let last_error = self.exports.last_error.clone();
        self.begin(None);
        match self.call(|store| last_error.call(store, ())) {
            Ok(packed) => read_error(&self.exports.memory, &self.store, packed)
                .unwrap_or_else(|e| format!("(logitloom_last_error {e})")),
            Err(e) => format!("(logitloom_last_error failed: {e})"),
        }
    }

    fn last_error_after_trap(&mut self) -> String {
        self.store.set_epoch_deadline(self.ticks);
        let Ok(packed) = self.exports.last_error.call(&mut self.store, ()) else { return String::new() };
        read_error(&self.exports.memory, &self.store, packed).unwrap_or_default()
    }

    fn alloc(&mut self, size: usize, align: u32) -> Result<u32, StageFailure> {
        let alloc = self.exports.alloc.clone();
        let size = u32::try_from(size)
            .map_err(|_| StageFailure::Error(format!("a buffer of {size} bytes does not fit a 32-bit module")))?;
        let size = size as usize;
        let ptr = self.call(|store| alloc.call(store, (size as u32, align)))?;
        let end = ptr as usize + size;
        // The host reads the logits buffer as `[f32]` in place, so the
        // alignment it asked for is a safety requirement, not a hint.
        if ptr == 0 || ptr % align != 0 || end > self.exports.memory.data_size(&self.store) {
            return Err(StageFailure::Error(format!(
                "logitloom_alloc({size}, {align}) returned an unusable buffer at {ptr}"
            )));
        }
        Ok(ptr)
    }

    fn alloc_bytes(&mut self, bytes: &[u8], align: u32) -> Result<u32, StageFailure> {
        let ptr = self.alloc(bytes.len(), align)?;
        self.write(ptr, bytes);
        Ok(ptr)
    }

    fn write(&mut self, ptr: u32, bytes: &[u8]) {
        self.exports.memory.data_mut(&mut self.store)[ptr as usize..ptr as usize + bytes.len()].copy_from_slice(bytes);
    }

    /// Copies the step's tokens (and raw logits) in; returns the arguments
    /// every step export takes after the logits pointer and length.
    fn write_step(&mut self, ctx: &StepContext<'_>) -> Result<(u32, u32, u32, u32, u32), StageFailure> {
        if ctx.tokens.len() > self.tokens_capacity {
            let capacity = (ctx.tokens.len() * 2).max(1024);
            self.tokens_ptr = self.alloc(capacity * 4, 4)?;
            self.tokens_capacity = capacity;
        }
        self.write(self.tokens_ptr, as_bytes(ctx.tokens));
        let raw = match ctx.raw_logits {
            Some(raw) if self.raw_ptr != 0 => {
                self.write(self.raw_ptr, as_bytes(raw));
                self.raw_ptr
            }
            _ => 0,
        };
        Ok((self.tokens_ptr, ctx.tokens.len() as u32, ctx.prompt_len as u32, ctx.step as u32, raw))
    }

    /// Moves what the call left in the store (observations, a rewind
    /// request) into `out`; an unreadable request fails the call.
    fn drain_observations(&mut self, out: &mut Records) -> Result<(), StageFailure> {
        let state = self.store.data_mut();
        out.observations.append(&mut state.observations);
        match state.rewind.take() {
            None => Ok(()),
            Some(Ok(request)) => {
                out.rewind = Some(request);
                Ok(())
            }
            Some(Err(message)) => Err(StageFailure::Error(message)),
        }
    }
}

impl WasmRunner {
    fn row_bytes(&self) -> std::ops::Range<usize> {
        self.logits_ptr as usize..self.logits_ptr as usize + self.vocab_size * 4
    }
}

impl StageRunner for WasmRunner {
    fn process(&mut self, ctx: &StepContext<'_>, logits: &mut [f32], out: &mut Records) -> Result<(), StageFailure> {
        self.own_row().expect("a WASM runner has a row").copy_from_slice(logits);
        self.process_own_row(ctx, out)?;
        logits.copy_from_slice(self.own_row().expect("a WASM runner has a row"));
        Ok(())
    }

    fn sample(&mut self, ctx: &StepContext<'_>, logits: &[f32], out: &mut Records) -> Result<u32, StageFailure> {
        self.own_row().expect("a WASM runner has a row").copy_from_slice(logits);
        self.sample_own_row(ctx, out)
    }

    fn own_row(&mut self) -> Option<&mut [f32]> {
        let range = self.row_bytes();
        let bytes = &mut self.exports.memory.data_mut(&mut self.store)[range];
        // SAFETY: `logitloom_alloc` was asked for 4-byte alignment (checked
        // at create) and WASM memory starts page-aligned, so the buffer is a
        // valid, aligned `[f32; vocab_size]` (any bit pattern is an f32), and
        // it stays put until the module runs again (only a call can grow
        // memory), which needs `&mut self` and so ends this borrow.
        Some(unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<f32>(), self.vocab_size) })
    }

    fn process_own_row(&mut self, ctx: &StepContext<'_>, out: &mut Records) -> Result<(), StageFailure> {
        let process = self
            .exports
            .process
            .clone()
            .ok_or_else(|| StageFailure::Error("the module has no logitloom_process".into()))?;
        self.begin(Some(ctx.step));
        let (tokens, tokens_len, prompt_len, step, raw) = self.write_step(ctx)?;
        let (logits_ptr, vocab) = (self.logits_ptr, self.vocab_size as u32);
        let status =
            self.call(|store| process.call(store, (logits_ptr, vocab, tokens, tokens_len, prompt_len, step, raw)));
        self.drain_observations(out)?;
        if status? != 0 {
            return Err(StageFailure::Error(self.last_error()));
        }
        Ok(())
    }

    fn sample_own_row(&mut self, ctx: &StepContext<'_>, out: &mut Records) -> Result<u32, StageFailure> {
        let sample = self
            .exports
            .sample
            .clone()
            .ok_or_else(|| StageFailure::Error("the module has no logitloom_sample".into()))?;
        self.begin(Some(ctx.step));
        let (tokens, tokens_len, prompt_len, step, raw) = self.write_step(ctx)?;
        let (logits_ptr, vocab) = (self.logits_ptr, self.vocab_size as u32);
        let token =
            self.call(|store| sample.call(store, (logits_ptr, vocab, tokens, tokens_len, prompt_len, step, raw)));
        self.drain_observations(out)?;
        let token = token?;
        if token < 0 {
            return Err(StageFailure::Error(self.last_error()));
        }
        u32::try_from(token)
            .map_err(|_| StageFailure::TokenOutOfRange { token: token as u64, vocab_size: self.vocab_size })
    }

    fn accept(&mut self, ctx: &StepContext<'_>, token: u32, out: &mut Records) -> Result<(), StageFailure> {
        let accept = self.exports.accept.clone();
        self.begin(Some(ctx.step));
        let (tokens, tokens_len, prompt_len, step, _) = self.write_step(ctx)?;
        let vocab = self.vocab_size as u32;
        let status = self.call(|store| accept.call(store, (tokens, tokens_len, prompt_len, step, vocab, token)));
        self.drain_observations(out)?;
        if status? != 0 {
            return Err(StageFailure::Error(self.last_error()));
        }
        Ok(())
    }

    fn rollback(&mut self, len: usize) -> Result<Rollback, StageFailure> {
        let Some(rollback) = self.exports.rollback.clone() else { return Ok(Rollback::Replay) };
        let len = u32::try_from(len).map_err(|_| StageFailure::Error(format!("cannot roll back to {len} tokens")))?;
        self.begin(None);
        match self.call(|store| rollback.call(store, len))? {
            0 => Ok(Rollback::Done),
            2 => Ok(Rollback::Replay),
            1 => Err(StageFailure::Error(self.last_error())),
            other => Err(StageFailure::Error(format!("logitloom_rollback returned {other}; expected 0, 1 or 2"))),
        }
    }
}
