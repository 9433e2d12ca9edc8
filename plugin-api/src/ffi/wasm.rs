//! The WASM ABI glue (see `docs/wasm-abi.md` for the contract).
//!
//! A module instance holds exactly one processor: the host instantiates a
//! module once per (stage, sequence), so the processor lives in a global
//! instead of behind a handle. Panics abort (the target has no unwinding)
//! and so trap; a panic hook first stores the message where
//! `logitloom_last_error` finds it, so the host can show it.

use std::cell::RefCell;

use super::{describe_json, panic_message, parse_params, ExportedLibrary};
use crate::{LogitProcessor, PluginError, Setup, Step, TokenBytes};

#[link(wasm_import_module = "logitloom")]
extern "C" {
    /// Hands one JSON observation record (UTF-8) to the host.
    #[link_name = "observe"]
    fn host_observe(ptr: *const u8, len: u32);
    /// Asks the host to rewind the sequence (interface 1.1): `ban_len`
    /// `u32` token ids at `ban_ptr` may not be chosen at `to_len`.
    #[link_name = "rewind"]
    fn host_rewind(to_len: u32, ban_ptr: *const u32, ban_len: u32);
}

struct Instance {
    processor: Box<dyn LogitProcessor>,
    eos_token_id: u32,
}

thread_local! {
    static INSTANCE: RefCell<Option<Instance>> = const { RefCell::new(None) };
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn pack(ptr: *const u8, len: usize) -> u64 {
    ((ptr as usize as u64) << 32) | len as u64
}

fn set_error(message: String) {
    LAST_ERROR.with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            *e = message;
        }
    });
}

pub fn alloc(size: u32, align: u32) -> u32 {
    let Ok(layout) = std::alloc::Layout::from_size_align(size.max(1) as usize, align.max(1) as usize) else {
        return 0;
    };
    // The host allocates its buffers once per instance and never frees
    // them: the instance is dropped at the end of the sequence.
    // SAFETY: `layout` has a non-zero size (`size.max(1)`), which is all
    // `alloc` requires; a null result is returned as 0, which the host
    // treats as out of memory.
    unsafe { std::alloc::alloc(layout) as u32 }
}

pub fn describe<L: ExportedLibrary>() -> u64 {
    static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let json = JSON.get_or_init(|| describe_json(L::entries()));
    pack(json.as_ptr(), json.len())
}

pub fn last_error() -> u64 {
    LAST_ERROR.with(|e| match e.try_borrow() {
        Ok(e) => pack(e.as_ptr(), e.len()),
        Err(_) => 0,
    })
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            set_error(format!("panicked{location}: {}", panic_message(info.payload())));
        }))
    });
}

/// A slice view of `len` values at `ptr`; empty (and `ptr` unread) when
/// `len` is 0, so the host may pass a null pointer for empty buffers.
///
/// # Safety
///
/// When `len > 0`, `ptr` must point to `len` initialised, aligned values of
/// `T` that stay valid and unchanged for `'a`. The host guarantees this for
/// the buffers it allocates with `logitloom_alloc` and fills before a call.
unsafe fn slice<'a, T>(ptr: *const T, len: u32) -> &'a [T] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: the caller's contract, above.
        unsafe { std::slice::from_raw_parts(ptr, len as usize) }
    }
}

/// 0 on success, 1 with `logitloom_last_error` set otherwise.
fn status(result: Result<(), PluginError>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            set_error(e.message);
            1
        }
    }
}

/// `logitloom_create`: builds processor `index` of `L` for this instance.
///
/// # Safety
///
/// Each `(pointer, length)` pair must describe a readable buffer in this
/// module's memory (see [`slice`]): the parameters' JSON and, when
/// `token_bytes_offsets_len > 0`, the token-bytes table. The host's calls
/// through the documented ABI (`docs/wasm-abi.md`) satisfy this.
#[allow(clippy::too_many_arguments)]
pub unsafe fn create<L: ExportedLibrary>(
    index: u32,
    params_ptr: *const u8,
    params_len: u32,
    vocab_size: u32,
    eos_token_id: u32,
    seed: u64,
    token_bytes_data: *const u8,
    token_bytes_data_len: u32,
    token_bytes_offsets: *const u32,
    token_bytes_offsets_len: u32,
) -> i32 {
    install_panic_hook();
    // SAFETY: the caller's contract: the host wrote `params_len` bytes there.
    let params = unsafe { slice(params_ptr, params_len) };
    let token_bytes = (token_bytes_offsets_len > 0).then(|| TokenBytes {
        // SAFETY: the caller's contract covers both halves of the table.
        data: unsafe { slice(token_bytes_data, token_bytes_data_len) },
        // SAFETY: as above.
        offsets: unsafe { slice(token_bytes_offsets, token_bytes_offsets_len) },
    });
    let result = (|| {
        let entry =
            L::entries().get(index as usize).ok_or_else(|| PluginError::new(format!("no processor number {index}")))?;
        let params = parse_params(params)?;
        let setup = Setup { vocab_size: vocab_size as usize, eos_token_id, seed, token_bytes };
        let processor = (entry.create)(&params, &setup)?;
        INSTANCE.with(|i| *i.borrow_mut() = Some(Instance { processor, eos_token_id }));
        Ok(())
    })();
    status(result)
}

/// Runs `body` on the instance's processor with a [`Step`] view of the
/// host's buffers, then forwards the step's observations to the host.
///
/// # Safety
///
/// `tokens` must hold `tokens_len` ids, and `raw_logits`, unless null,
/// `vocab_size` floats, as [`slice`] requires.
unsafe fn with_step<R>(
    tokens: *const u32,
    tokens_len: u32,
    prompt_len: u32,
    step: u32,
    vocab_size: u32,
    raw_logits: *const f32,
    body: impl FnOnce(&mut dyn LogitProcessor, &mut Step<'_>) -> Result<R, PluginError>,
) -> Result<R, PluginError> {
    INSTANCE.with(|i| {
        let mut guard = i.borrow_mut();
        let instance = guard.as_mut().ok_or_else(|| PluginError::new("called before logitloom_create"))?;
        // SAFETY: the caller's contract; null means "not requested".
        let raw = (!raw_logits.is_null()).then(|| unsafe { slice(raw_logits, vocab_size) });
        let mut view = Step::new(
            // SAFETY: the caller's contract.
            unsafe { slice(tokens, tokens_len) },
            prompt_len as usize,
            step as usize,
            vocab_size as usize,
            instance.eos_token_id,
            raw,
        );
        let result = body(instance.processor.as_mut(), &mut view);
        for record in view.take_observations() {
            // SAFETY: the host copies `len` bytes out of our memory before
            // returning; `record` outlives the call.
            unsafe { host_observe(record.as_ptr(), record.len() as u32) };
        }
        if let Some(rewind) = view.take_rewind() {
            let to_len = u32::try_from(rewind.to_len).unwrap_or(u32::MAX);
            // SAFETY: as for `host_observe`; the host copies the ids out.
            unsafe { host_rewind(to_len, rewind.ban.as_ptr(), rewind.ban.len() as u32) };
        }
        result
    })
}

/// `logitloom_process`: edits the logits row in place.
///
/// # Safety
///
/// `logits` must point to `vocab_size` writable floats that nothing else
/// reads during the call; `tokens` and `raw_logits` as for [`with_step`].
pub unsafe fn process(
    logits: *mut f32,
    vocab_size: u32,
    tokens: *const u32,
    tokens_len: u32,
    prompt_len: u32,
    step: u32,
    raw_logits: *const f32,
) -> i32 {
    // SAFETY: the caller's contract: a writable, unaliased row.
    let logits = unsafe { std::slice::from_raw_parts_mut(logits, vocab_size as usize) };
    // SAFETY: the caller's contract for the step's buffers.
    status(unsafe {
        with_step(tokens, tokens_len, prompt_len, step, vocab_size, raw_logits, |p, s| p.process(s, logits))
    })
}

/// `logitloom_sample`: chooses a token from the row; -1 on error.
///
/// # Safety
///
/// `logits` must point to `vocab_size` readable floats; `tokens` and
/// `raw_logits` as for [`with_step`].
pub unsafe fn sample(
    logits: *const f32,
    vocab_size: u32,
    tokens: *const u32,
    tokens_len: u32,
    prompt_len: u32,
    step: u32,
    raw_logits: *const f32,
) -> i64 {
    // SAFETY: the caller's contract.
    let logits = unsafe { slice(logits, vocab_size) };
    // SAFETY: the caller's contract for the step's buffers.
    match unsafe { with_step(tokens, tokens_len, prompt_len, step, vocab_size, raw_logits, |p, s| p.sample(s, logits)) }
    {
        Ok(token) => token as i64,
        Err(e) => {
            set_error(e.message);
            -1
        }
    }
}

/// `logitloom_accept`: tells the processor which token was chosen.
///
/// # Safety
///
/// `tokens` must hold `tokens_len` ids, as for [`with_step`].
pub unsafe fn accept(
    tokens: *const u32,
    tokens_len: u32,
    prompt_len: u32,
    step: u32,
    vocab_size: u32,
    token: u32,
) -> i32 {
    // SAFETY: the caller's contract; no raw logits are read.
    status(unsafe {
        with_step(tokens, tokens_len, prompt_len, step, vocab_size, std::ptr::null(), |p, s| p.accept(s, token))
    })
}

/// 0 when the processor rolled itself back to `len` tokens, 2 when the host
/// must re-create it and replay (the default), 1 on error.
pub fn rollback(len: u32) -> i32 {
    let result = INSTANCE.with(|i| {
        let mut guard = i.borrow_mut();
        let instance = guard.as_mut().ok_or_else(|| PluginError::new("called before logitloom_create"))?;
        instance.processor.rollback(len as usize)
    });
    match result {
        Ok(crate::Rollback::Done) => 0,
        Ok(crate::Rollback::Replay) => 2,
        Err(e) => {
            set_error(e.message);
            1
        }
    }
}
