//! `logitloom._native`: the plugin host as a Python extension.
//!
//! Only the host crosses into Python: chains load with the same
//! `ChainSpec`/`HostOptions` as the CLI, and every step goes through
//! `ChainInstance::input_row` + `step_input_row`, the path the engine uses,
//! so the same logits give the same tokens and observations bit for bit.
//! The Hugging Face adapter and the tokenizer duck-typing that needs no speed
//! live in `logitloom/hf.py` and here respectively.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use logitloom_numerics::Piece;
use logitloom_plugin_host::{
    ChainError, ChainInstance, ChainSpec, HostError, HostOptions, LoadedChain, OwnedTokenBytes, PluginLibrary,
    PluginOrigin, SequenceSetup, StageFailure,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

create_exception!(
    logitloom._native,
    LogitloomError,
    PyException,
    "Base class of every error logitloom raises on its own account."
);
create_exception!(
    logitloom._native,
    ChainConfigError,
    LogitloomError,
    "A chain that cannot be run: a TOML error, an unknown plugin, a bad parameter, a plugin file that does not load.\n\n\
     Attributes: ``origin`` (file or ``<string>``), ``line``, ``stage`` (1-based) and ``plugin``, each ``None`` when unknown."
);
create_exception!(
    logitloom._native,
    PluginError,
    LogitloomError,
    "A stage failed while creating its processor or running a step: an error it returned, a panic, a WASM trap, \
     a deadline or memory limit, or logits it left invalid.\n\n\
     Attributes: ``sequence`` (index in the batch), ``stage`` (1-based), ``plugin`` (processor name), ``source`` \
     (``builtin`` or the plugin file), ``step`` (None while creating), ``failure`` (``error``, ``panic``, ``trap``, \
     ``timeout``, ``memory_limit``, ``invalid_logits``, ``token_out_of_range``, ``create`` or ``poisoned``)."
);

/// Every token's byte string, computed as `engine::Tokenizer` does (the
/// code is shared through `logitloom_numerics`, which links nothing).
fn token_bytes_of(tok: &tokenizers::Tokenizer) -> Vec<Vec<u8>> {
    let added: HashMap<u32, String> =
        tok.get_added_tokens_decoder().into_iter().map(|(id, t)| (id, t.content)).collect();
    logitloom_numerics::token_bytes(tok.get_vocab_size(true), |id| match added.get(&id) {
        Some(content) => Piece::Added(content.clone()),
        None => tok.id_to_token(id).map_or(Piece::Unknown, Piece::Vocab),
    })
}

/// What a tokenizer argument gives a chain.
struct Vocabulary {
    token_bytes: Vec<Vec<u8>>,
    eos: Option<u32>,
}

fn vocabulary_from_json(json: &str, what: &str) -> PyResult<Vocabulary> {
    // Checked as JSON first: `tokenizers` panics on some truncated files
    // (see `logitloom_engine::tokenizer::read_tokenizer_json`, which this
    // crate cannot use without linking libtorch).
    if let Err(e) = serde_json::from_str::<serde_json::Value>(json) {
        return Err(PyValueError::new_err(format!("{what}: not a tokenizer.json: invalid JSON: {e}")));
    }
    let tok: tokenizers::Tokenizer =
        json.parse().map_err(|e| PyValueError::new_err(format!("{what}: not a tokenizer.json: {e}")))?;
    Ok(Vocabulary { token_bytes: token_bytes_of(&tok), eos: tok.token_to_id("<|endoftext|>") })
}

/// `tokenizer=`: a path, a `tokenizers.Tokenizer`, or a Hugging Face fast
/// tokenizer (whose `backend_tokenizer` is a `tokenizers.Tokenizer`).
fn resolve_tokenizer(obj: &Bound<'_, PyAny>) -> PyResult<Vocabulary> {
    if let Some(path) = as_path(obj)? {
        let json = std::fs::read_to_string(&path)
            .map_err(|e| PyValueError::new_err(format!("{}: cannot read tokenizer: {e}", path.display())))?;
        return vocabulary_from_json(&json, &path.display().to_string());
    }
    if let Ok(backend) = obj.getattr("backend_tokenizer") {
        let json: String = backend.call_method0("to_str")?.extract()?;
        let mut vocab = vocabulary_from_json(&json, "tokenizer.backend_tokenizer")?;
        // An HF tokenizer knows its own end of text; prefer it to the GPT-2 name.
        if let Ok(eos) = obj.getattr("eos_token_id").and_then(|e| e.extract::<Option<u32>>()) {
            vocab.eos = eos.or(vocab.eos);
        }
        return Ok(vocab);
    }
    if obj.hasattr("to_str")? {
        let json: String = obj.call_method0("to_str")?.extract()?;
        return vocabulary_from_json(&json, "tokenizer");
    }
    Err(PyTypeError::new_err(format!(
        "tokenizer must be a tokenizers.Tokenizer, a path to a tokenizer.json, or a Hugging Face fast tokenizer \
         (AutoTokenizer.from_pretrained(..., use_fast=True)); got {}",
        obj.get_type().name()?
    )))
}

/// A `str` or `os.PathLike` as a path; `None` for anything else.
fn as_path(obj: &Bound<'_, PyAny>) -> PyResult<Option<PathBuf>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Some(PathBuf::from(s.to_cow()?.as_ref())));
    }
    if obj.hasattr("__fspath__")? {
        return Ok(Some(obj.call_method0("__fspath__")?.extract::<PathBuf>()?));
    }
    Ok(None)
}

fn failure_kind(f: &StageFailure) -> &'static str {
    match f {
        StageFailure::Error(_) => "error",
        StageFailure::Panic(_) => "panic",
        StageFailure::Trap(_) => "trap",
        StageFailure::Timeout(_) => "timeout",
        StageFailure::MemoryLimit(_) => "memory_limit",
        StageFailure::InvalidLogits(_) => "invalid_logits",
        StageFailure::TokenOutOfRange { .. } => "token_out_of_range",
    }
}

fn set_attrs(py: Python<'_>, err: &PyErr, attrs: &[(&str, Py<PyAny>)]) {
    let value = err.value(py);
    for (name, v) in attrs {
        // Exception instances always take attributes; nothing to report if one did not.
        let _ = value.setattr(*name, v);
    }
}

fn chain_error(py: Python<'_>, e: &ChainError) -> PyErr {
    let err = ChainConfigError::new_err(e.to_string());
    let (origin, line) = match e {
        ChainError::Syntax { origin, line, .. } => (Some(origin.clone()), Some(*line)),
        ChainError::Empty { origin } | ChainError::NoSampler { origin, .. } => (Some(origin.clone()), None),
        ChainError::Read { path, .. } => (Some(path.display().to_string()), None),
        _ => match e.location() {
            Some(at) => (Some(at.origin.clone()), at.line),
            None => (None, None),
        },
    };
    let at = e.location();
    set_attrs(
        py,
        &err,
        &[
            ("origin", origin.into_pyobject(py).expect("str").into_any().unbind()),
            ("line", line.into_pyobject(py).expect("int").into_any().unbind()),
            ("stage", at.map(|a| a.stage).into_pyobject(py).expect("int").into_any().unbind()),
            ("plugin", at.map(|a| a.plugin.clone()).into_pyobject(py).expect("str").into_any().unbind()),
        ],
    );
    err
}

/// Errors while loading a chain: all of them mean the chain cannot run.
fn load_error(py: Python<'_>, e: &HostError) -> PyErr {
    match e {
        HostError::Chain(c) => chain_error(py, c),
        other => {
            let err = ChainConfigError::new_err(other.to_string());
            let none = || py.None();
            set_attrs(py, &err, &[("origin", none()), ("line", none()), ("stage", none()), ("plugin", none())]);
            err
        }
    }
}

/// ``PluginError.source``: the plugin file, or ``builtin``.
fn plugin_source(origin: &PluginOrigin) -> String {
    origin.path.as_ref().map_or_else(|| "builtin".to_string(), |p| p.display().to_string())
}

/// An error from one sequence of a batch, as the exception Python sees.
fn sequence_error(py: Python<'_>, sequence: usize, e: &HostError) -> PyErr {
    let message = format!("sequence {sequence}: {e}");
    let int = |v: usize| v.into_pyobject(py).expect("int").into_any().unbind();
    let text = |v: &str| v.into_pyobject(py).expect("str").into_any().unbind();
    let (err, attrs) = match e {
        HostError::Stage { stage, name, plugin, step, failure } => (
            PluginError::new_err(message),
            vec![
                ("stage", int(*stage)),
                ("plugin", text(name)),
                ("source", text(&plugin_source(plugin))),
                ("step", int(*step)),
                ("failure", text(failure_kind(failure))),
            ],
        ),
        HostError::Create { stage, name, plugin, .. } => (
            PluginError::new_err(message),
            vec![
                ("stage", int(*stage)),
                ("plugin", text(name)),
                ("source", text(&plugin_source(plugin))),
                ("step", py.None()),
                ("failure", text("create")),
            ],
        ),
        HostError::Poisoned(_) => (
            PluginError::new_err(message),
            vec![
                ("stage", py.None()),
                ("plugin", py.None()),
                ("source", py.None()),
                ("step", py.None()),
                ("failure", text("poisoned")),
            ],
        ),
        // The caller's logits, not a plugin, are at fault.
        HostError::InputLogits { .. } | HostError::VocabMismatch { .. } => (PyValueError::new_err(message), vec![]),
        other => (LogitloomError::new_err(format!("sequence {sequence}: {other}")), vec![]),
    };
    let mut attrs = attrs;
    attrs.push(("sequence", int(sequence)));
    set_attrs(py, &err, &attrs);
    err
}

/// A chain loaded from TOML with its plugins compiled; cheap to start
/// sequences from and safe to share between threads.
///
/// Load one with :meth:`Chain.from_toml`, start per-sequence state with
/// :meth:`new_sequences`, or hand :meth:`logits_processor` to Hugging Face
/// ``generate``.
#[pyclass(module = "logitloom._native", frozen)]
struct Chain {
    loaded: Arc<LoadedChain>,
    token_bytes: Option<Arc<Vec<Vec<u8>>>>,
    eos: Option<u32>,
    origin: String,
}

#[pymethods]
impl Chain {
    /// Loads a chain config, the same TOML the ``logitloom`` CLI reads.
    ///
    /// ``source`` is a path (``str`` or ``os.PathLike``) or the TOML text itself
    /// (a ``str`` containing a newline or ``[[``); plugin paths in text are
    /// relative to the current directory, in a file to the file's directory.
    /// ``tokenizer`` is a ``tokenizers.Tokenizer``, a ``tokenizer.json`` path,
    /// or a Hugging Face fast tokenizer; stages that need token bytes (the
    /// Java grammar, the entropy logger's texts) get them from it, and it
    /// supplies the end-of-text id unless ``eos_token_id`` is given.
    ///
    /// Raises :class:`ChainConfigError` with the CLI's message (file, line,
    /// stage, parameter) for anything that would keep the chain from running.
    #[staticmethod]
    #[pyo3(signature = (source, tokenizer=None, *, eos_token_id=None, wasm_deadline_ms=100, wasm_memory_limit_bytes=268435456, module_cache_dir=None, check_logits=true))]
    #[allow(clippy::too_many_arguments)]
    fn from_toml(
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        tokenizer: Option<&Bound<'_, PyAny>>,
        eos_token_id: Option<u32>,
        wasm_deadline_ms: u64,
        wasm_memory_limit_bytes: usize,
        module_cache_dir: Option<PathBuf>,
        check_logits: bool,
    ) -> PyResult<Chain> {
        let text: Option<String> = match source.cast::<PyString>() {
            Ok(s) => Some(s.to_cow()?.into_owned()).filter(|t| is_toml_text(t)),
            Err(_) => None,
        };
        let spec = match text {
            Some(text) => {
                let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
                ChainSpec::from_toml_str(
                    &text,
                    "<string>",
                    &cwd,
                    &PluginLibrary::from_entries(logitloom_builtins::entries()),
                )
            }
            _ => match as_path(source)? {
                Some(path) => ChainSpec::from_file(&path, &PluginLibrary::from_entries(logitloom_builtins::entries())),
                None => {
                    return Err(PyTypeError::new_err(format!(
                        "source must be a path or TOML text, got {}",
                        source.get_type().name()?
                    )))
                }
            },
        }
        .map_err(|e| chain_error(py, &e))?;
        let options = HostOptions {
            wasm_deadline: Duration::from_millis(wasm_deadline_ms),
            wasm_memory_limit_bytes,
            module_cache_dir,
            check_logits,
        };
        let vocabulary = tokenizer.map(resolve_tokenizer).transpose()?;
        // Compiling WASM modules takes a while; other threads may run meanwhile.
        let loaded = py.detach(|| spec.load(&options)).map_err(|e| load_error(py, &e))?;
        if loaded.needs_token_bytes() && vocabulary.is_none() {
            let needing: Vec<String> = loaded
                .stage_infos()
                .iter()
                .zip(loaded.stage_labels())
                .filter(|(info, _)| info.needs_token_bytes)
                .map(|(_, label)| label)
                .collect();
            let err = ChainConfigError::new_err(format!(
                "{}: stage(s) {} need the vocabulary's token bytes: pass tokenizer= (a tokenizers.Tokenizer, a tokenizer.json path or an HF tokenizer)",
                spec.origin(),
                needing.join(", ")
            ));
            set_attrs(
                py,
                &err,
                &[
                    ("origin", spec.origin().into_pyobject(py)?.into_any().unbind()),
                    ("line", py.None()),
                    ("stage", py.None()),
                    ("plugin", py.None()),
                ],
            );
            return Err(err);
        }
        let (token_bytes, tok_eos) = match vocabulary {
            Some(v) => (Some(Arc::new(v.token_bytes)), v.eos),
            None => (None, None),
        };
        Ok(Chain {
            loaded: Arc::new(loaded),
            token_bytes,
            eos: eos_token_id.or(tok_eos),
            origin: spec.origin().to_string(),
        })
    }

    /// The stage labels in order (processor names, ``#2``... on repeats); traces use them.
    #[getter]
    fn stage_labels(&self) -> Vec<String> {
        self.loaded.stage_labels()
    }

    /// Whether some stage needs the vocabulary's token bytes.
    #[getter]
    fn needs_token_bytes(&self) -> bool {
        self.loaded.needs_token_bytes()
    }

    /// Whether some stage may ask to rewind (declares ``may_rewind``) and the
    /// chain's ``[rewind]`` budget allows any. Python callers cannot rewind:
    /// such requests are refused and traced (see :meth:`Sequences.step`).
    #[getter]
    fn may_rewind(&self) -> bool {
        self.loaded.may_rewind()
    }

    /// The config file, or ``<string>`` for TOML text.
    #[getter]
    fn origin(&self) -> &str {
        &self.origin
    }

    /// The end-of-text token id sequences stop at (``None`` when neither the
    /// tokenizer nor ``eos_token_id=`` gave one).
    #[getter]
    fn eos_token_id(&self) -> Option<u32> {
        self.eos
    }

    /// Starts one sequence per prompt, each with its own chain instance.
    ///
    /// ``prompts_token_ids`` is a list of token-id lists (or a 2-D int array
    /// or tensor). Sequence ``i`` is seeded ``seed + i``, as ``logitloom
    /// generate --seed`` does, unless ``seeds`` lists one per prompt. A
    /// sequence that picks ``eos_token_id`` is finished when ``stop_at_eos``:
    /// its chain stops running and :meth:`Sequences.step` returns the end-of-text
    /// id for it from then on. The chain instances are created at the first
    /// step, sized to its logits, unless ``vocab_size`` is given.
    #[pyo3(signature = (prompts_token_ids, seed=0, *, seeds=None, eos_token_id=None, stop_at_eos=true, vocab_size=None))]
    #[allow(clippy::too_many_arguments, reason = "one per Python keyword argument")]
    fn new_sequences(
        &self,
        py: Python<'_>,
        prompts_token_ids: &Bound<'_, PyAny>,
        seed: u64,
        seeds: Option<Vec<u64>>,
        eos_token_id: Option<u32>,
        stop_at_eos: bool,
        vocab_size: Option<usize>,
    ) -> PyResult<Sequences> {
        let prompts: Vec<Vec<u32>> = if prompts_token_ids.hasattr("tolist")? {
            prompts_token_ids.call_method0("tolist")?.extract()
        } else {
            prompts_token_ids.extract()
        }
        .map_err(|_| PyTypeError::new_err("prompts_token_ids must be a list of token-id lists (non-negative ints)"))?;
        if prompts.is_empty() {
            return Err(PyValueError::new_err("prompts_token_ids is empty: give at least one prompt"));
        }
        let seeds = match seeds {
            Some(s) if s.len() != prompts.len() => {
                return Err(PyValueError::new_err(format!(
                    "{} seeds for {} prompts: give one per prompt",
                    s.len(),
                    prompts.len()
                )))
            }
            Some(s) => s,
            None => (0..prompts.len() as u64).map(|i| seed.wrapping_add(i)).collect(),
        };
        let eos = eos_token_id.or(self.eos).ok_or_else(|| {
            PyValueError::new_err(
                "no end-of-text token id: pass eos_token_id= here or to Chain.from_toml, or a tokenizer that has one",
            )
        })?;
        let mut state = SeqState {
            chain: self.loaded.clone(),
            tokenizer_bytes: self.token_bytes.clone(),
            eos,
            stop_at_eos,
            vocab: None,
            seqs: prompts
                .into_iter()
                .zip(seeds)
                .map(|(tokens, seed)| Seq { prompt_len: tokens.len(), tokens, seed, instance: None, finished: false })
                .collect(),
        };
        if let Some(v) = vocab_size {
            state.instantiate(py, v)?;
        }
        Ok(Sequences { state: Mutex::new(state) })
    }

    /// A Hugging Face logits processor running this chain; see
    /// :class:`logitloom.hf.LogitsProcessor` for what ``generate`` does with it.
    #[pyo3(signature = (seed=0, *, eos_token_id=None, pad_token_id=None, stop_at_eos=true, inplace=false))]
    fn logits_processor<'py>(
        slf: &Bound<'py, Self>,
        seed: u64,
        eos_token_id: Option<u32>,
        pad_token_id: Option<u32>,
        stop_at_eos: bool,
        inplace: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let class = py.import("logitloom.hf")?.getattr("LogitsProcessor")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("seed", seed)?;
        kwargs.set_item("eos_token_id", eos_token_id)?;
        kwargs.set_item("pad_token_id", pad_token_id)?;
        kwargs.set_item("stop_at_eos", stop_at_eos)?;
        kwargs.set_item("inplace", inplace)?;
        class.call((slf,), Some(&kwargs))
    }

    fn __repr__(&self) -> String {
        format!("Chain({:?}: {})", self.origin, self.loaded.stage_labels().join(" > "))
    }
}

/// A TOML string rather than a path: paths never hold a newline, and `[[`
/// opens every chain's first stage.
fn is_toml_text(s: &str) -> bool {
    s.contains('\n') || s.contains("[[")
}

struct Seq {
    tokens: Vec<u32>,
    prompt_len: usize,
    seed: u64,
    instance: Option<ChainInstance>,
    finished: bool,
}

/// One batch of sequences, each with its own chain instance (the stages'
/// per-sequence state: penalties' history, the grammar's parse, the RNG).
///
/// Made by :meth:`Chain.new_sequences`. Not shareable between threads while a
/// step runs: a second concurrent call raises ``RuntimeError`` (already
/// borrowed) instead of racing.
#[pyclass(module = "logitloom._native", frozen)]
struct Sequences {
    // A lock rather than `&mut self`: pyclasses must be Sync, chain
    // instances are only Send. A step holds it with the GIL released.
    state: Mutex<SeqState>,
}

struct SeqState {
    chain: Arc<LoadedChain>,
    tokenizer_bytes: Option<Arc<Vec<Vec<u8>>>>,
    eos: u32,
    stop_at_eos: bool,
    vocab: Option<usize>,
    seqs: Vec<Seq>,
}

impl SeqState {
    fn instantiate(&mut self, py: Python<'_>, vocab: usize) -> PyResult<()> {
        let token_bytes = match (&self.tokenizer_bytes, self.chain.needs_token_bytes()) {
            (Some(tb), true) => {
                // As the engine does: ids past the tokenizer (padding rows) get
                // no bytes, and a tokenizer larger than the logits is cut.
                let mut tokens: Vec<Vec<u8>> = tb.iter().take(vocab).cloned().collect();
                tokens.resize(vocab, Vec::new());
                Some(Arc::new(OwnedTokenBytes::from_tokens(&tokens)))
            }
            _ => None,
        };
        let chain = &self.chain;
        let eos = self.eos;
        let seqs = &mut self.seqs;
        let failed = py.detach(|| {
            for (i, seq) in seqs.iter_mut().enumerate() {
                let setup = SequenceSetup {
                    vocab_size: vocab,
                    eos_token_id: eos,
                    seed: seq.seed,
                    token_bytes: token_bytes.clone(),
                };
                match chain.instantiate(&setup) {
                    Ok(instance) => seq.instance = Some(instance),
                    Err(e) => return Some((i, e)),
                }
            }
            None
        });
        if let Some((i, e)) = failed {
            for seq in &mut self.seqs {
                seq.instance = None;
            }
            return Err(sequence_error(py, i, &e));
        }
        self.vocab = Some(vocab);
        Ok(())
    }
}

/// Raw logits memory moved into the GIL-free part of a step. The Python
/// object owning it is held by the caller for the whole step.
#[derive(Clone, Copy)]
struct RowsPtr {
    addr: usize,
    rows: usize,
    cols: usize,
    /// In elements.
    row_stride: usize,
    /// False for read-only numpy arrays.
    writable: bool,
}

impl RowsPtr {
    /// # Safety
    /// The owner must be alive and not resized while the slice is used.
    unsafe fn row(&self, i: usize) -> &[f32] {
        debug_assert!(i < self.rows);
        std::slice::from_raw_parts((self.addr as *const f32).add(i * self.row_stride), self.cols)
    }

    /// # Safety
    /// As [`row`](Self::row), the memory writable, and nothing else using
    /// row `i` meanwhile (rows never overlap: see the stride checks).
    #[allow(clippy::mut_from_ref)]
    unsafe fn row_mut(&self, i: usize) -> &mut [f32] {
        debug_assert!(i < self.rows && self.writable);
        std::slice::from_raw_parts_mut((self.addr as *mut f32).add(i * self.row_stride), self.cols)
    }
}

/// A `[batch, vocab]` float32 array read in place when it is CPU memory
/// with contiguous rows; anything else is converted once (a copy), which
/// `inplace` refuses since the caller would not see the chain's edits.
fn logits_view<'py>(obj: &Bound<'py, PyAny>, inplace: bool) -> PyResult<(Bound<'py, PyAny>, RowsPtr)> {
    let (owner, view) = logits_view_any(obj)?;
    if inplace && (!owner.is(obj) || !view.writable) {
        return Err(PyValueError::new_err(
            "inplace=True needs writable float32 CPU logits with contiguous rows (these would be copied first)",
        ));
    }
    Ok((owner, view))
}

fn logits_view_any<'py>(obj: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, RowsPtr)> {
    if obj.hasattr("__array_interface__")? {
        if let Some(view) = numpy_view(obj)? {
            return Ok((obj.clone(), view));
        }
        let np = obj.py().import("numpy")?;
        let converted = np.call_method1("ascontiguousarray", (obj, np.getattr("float32")?))?;
        let view = numpy_view(&converted)?.expect("ascontiguousarray gives a contiguous float32 array");
        return Ok((converted, view));
    }
    if obj.hasattr("data_ptr")? && obj.hasattr("stride")? {
        if let Some(view) = torch_view(obj)? {
            return Ok((obj.clone(), view));
        }
        let converted =
            obj.call_method0("detach")?.call_method0("float")?.call_method0("cpu")?.call_method0("contiguous")?;
        let view = torch_view(&converted)?
            .ok_or_else(|| PyTypeError::new_err("could not make the logits tensor float32 on the CPU"))?;
        return Ok((converted, view));
    }
    let np =
        obj.py().import("numpy").map_err(|_| PyTypeError::new_err("logits must be a numpy array or torch tensor"))?;
    let converted = np.call_method1("ascontiguousarray", (obj, np.getattr("float32")?))?;
    let view =
        numpy_view(&converted)?.ok_or_else(|| PyTypeError::new_err("logits must be a [batch, vocab] float32 array"))?;
    Ok((converted, view))
}

fn shape_error(shape: &[usize]) -> PyErr {
    PyValueError::new_err(format!("logits must be 2-D [batch, vocab], got shape {shape:?}"))
}

fn numpy_view(obj: &Bound<'_, PyAny>) -> PyResult<Option<RowsPtr>> {
    let iface = obj.getattr("__array_interface__")?;
    let shape: Vec<usize> = iface.get_item("shape")?.extract()?;
    if shape.len() != 2 {
        return Err(shape_error(&shape));
    }
    let typestr: String = iface.get_item("typestr")?.extract()?;
    let native_f32 = if cfg!(target_endian = "little") { "<f4" } else { ">f4" };
    if typestr != native_f32 {
        return Ok(None);
    }
    let (rows, cols) = (shape[0], shape[1]);
    let strides: Option<(isize, isize)> = iface.get_item("strides")?.extract()?;
    let row_stride = match strides {
        None => cols,
        Some((s0, 4)) if s0 >= 0 && s0 % 4 == 0 && (s0 as usize / 4 >= cols || rows <= 1) => s0 as usize / 4,
        Some(_) => return Ok(None),
    };
    let (addr, readonly): (usize, bool) = iface.get_item("data")?.extract()?;
    if addr % std::mem::align_of::<f32>() != 0 {
        return Ok(None);
    }
    Ok(Some(RowsPtr { addr, rows, cols, row_stride, writable: !readonly }))
}

fn torch_view(obj: &Bound<'_, PyAny>) -> PyResult<Option<RowsPtr>> {
    let shape: Vec<usize> = obj.call_method0("size")?.extract()?;
    if shape.len() != 2 {
        return Err(shape_error(&shape));
    }
    if obj.getattr("dtype")?.str()?.to_cow()? != "torch.float32"
        || obj.getattr("device")?.getattr("type")?.extract::<String>()? != "cpu"
    {
        return Ok(None);
    }
    let (rows, cols) = (shape[0], shape[1]);
    let s1: isize = obj.call_method1("stride", (1,))?.extract()?;
    let s0: isize = obj.call_method1("stride", (0,))?.extract()?;
    if (s1 != 1 && cols > 1) || s0 < 0 || ((s0 as usize) < cols && rows > 1) {
        return Ok(None);
    }
    let addr: usize = obj.call_method0("data_ptr")?.extract()?;
    Ok(Some(RowsPtr { addr, rows, cols, row_stride: s0 as usize, writable: true }))
}

impl Sequences {
    fn lock(&self) -> PyResult<std::sync::MutexGuard<'_, SeqState>> {
        match self.state.try_lock() {
            Ok(guard) => Ok(guard),
            Err(std::sync::TryLockError::WouldBlock) => {
                Err(PyRuntimeError::new_err("this Sequences object is being stepped by another thread"))
            }
            // A panic cannot happen while the lock is held (plugin panics are caught), but do not hide one.
            Err(std::sync::TryLockError::Poisoned(_)) => {
                Err(PyRuntimeError::new_err("this Sequences object is broken by an earlier panic"))
            }
        }
    }
}

#[pymethods]
impl Sequences {
    /// Runs every unfinished sequence's chain on its row of ``logits`` (a
    /// ``[batch, vocab]`` float32 numpy array or CPU torch tensor, read in place
    /// when its rows are contiguous; other dtypes and devices are converted
    /// once) and returns the chosen token ids. The caller's array is not
    /// modified: each row is copied once into the chain's own buffer, as the
    /// engine does. With ``inplace=True`` the chain works on the caller's
    /// rows instead (no copy unless a stage is WASM) and leaves each as its
    /// last stage saw it, e.g. with the masked tokens at ``-inf``; that
    /// needs writable float32 CPU logits with contiguous rows. The GIL is
    /// released while the chains run.
    ///
    /// A failing stage raises :class:`PluginError` naming the sequence, stage,
    /// plugin and step, after every other sequence has taken its step; that
    /// sequence then refuses further steps. Stages that ask to rewind are
    /// refused (the host traces the refusal) and decoding goes on forward.
    #[pyo3(signature = (logits, *, inplace=false))]
    fn step(&self, py: Python<'_>, logits: &Bound<'_, PyAny>, inplace: bool) -> PyResult<Vec<u32>> {
        let (_owner, rows) = logits_view(logits, inplace)?;
        let mut guard = self.lock()?;
        let this = &mut *guard;
        if rows.rows != this.seqs.len() {
            return Err(PyValueError::new_err(format!(
                "logits have {} rows, this batch has {} sequences",
                rows.rows,
                this.seqs.len()
            )));
        }
        match this.vocab {
            None => this.instantiate(py, rows.cols)?,
            Some(v) if v != rows.cols => {
                return Err(PyValueError::new_err(format!(
                    "logits have {} columns, these sequences were set up for a vocabulary of {v}",
                    rows.cols
                )))
            }
            Some(_) => {}
        }
        let (eos, stop_at_eos) = (this.eos, this.stop_at_eos);
        let seqs = &mut this.seqs;
        let (tokens, error) = py.detach(move || {
            let mut tokens = Vec::with_capacity(seqs.len());
            let mut error = None;
            for (i, seq) in seqs.iter_mut().enumerate() {
                if seq.finished {
                    tokens.push(eos);
                    continue;
                }
                let instance = seq.instance.as_mut().expect("instantiated above");
                let step = seq.tokens.len() - seq.prompt_len;
                // SAFETY: `_owner` keeps the array alive for this call, row `i` is in
                // bounds, and `logits_view` checked it is writable for `inplace`.
                let result = if inplace {
                    // SAFETY: as above.
                    instance.step(&seq.tokens, seq.prompt_len, step, unsafe { rows.row_mut(i) })
                } else {
                    // SAFETY: as above.
                    instance.input_row().copy_from_slice(unsafe { rows.row(i) });
                    instance.step_input_row(&seq.tokens, seq.prompt_len, step)
                };
                match result {
                    Ok(token) => {
                        seq.tokens.push(token);
                        seq.finished = stop_at_eos && token == eos;
                        tokens.push(token);
                    }
                    Err(e) => {
                        error.get_or_insert((i, e));
                        tokens.push(eos);
                    }
                }
            }
            (tokens, error)
        });
        match error {
            Some((i, e)) => Err(sequence_error(py, i, &e)),
            None => Ok(tokens),
        }
    }

    /// The tokens each sequence has generated so far (prompts excluded).
    #[getter]
    fn tokens(&self) -> PyResult<Vec<Vec<u32>>> {
        Ok(self.lock()?.seqs.iter().map(|s| s.tokens[s.prompt_len..].to_vec()).collect())
    }

    /// Whether each sequence has picked the end-of-text token (with ``stop_at_eos``).
    #[getter]
    fn finished(&self) -> PyResult<Vec<bool>> {
        Ok(self.lock()?.seqs.iter().map(|s| s.finished).collect())
    }

    /// Each sequence's rewind requests so far, as counts:
    /// ``{"granted", "refused", "discarded"}``. ``granted`` and
    /// ``discarded`` stay 0 here, since a Python caller cannot rewind; each
    /// refusal is also in :meth:`take_observations` as a ``{"rewind": ...}``
    /// record with ``"granted": False`` and the reason.
    #[getter]
    fn rewinds<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let totals: Vec<_> = self
            .lock()?
            .seqs
            .iter()
            .map(|s| s.instance.as_ref().map(|i| i.rewind_totals()).unwrap_or_default())
            .collect();
        let list = PyList::empty(py);
        for t in totals {
            let d = PyDict::new(py);
            d.set_item("granted", t.granted)?;
            d.set_item("refused", t.refused)?;
            d.set_item("discarded", t.discarded)?;
            list.append(d)?;
        }
        Ok(list)
    }

    /// Each sequence's seed.
    #[getter]
    fn seeds(&self) -> PyResult<Vec<u64>> {
        Ok(self.lock()?.seqs.iter().map(|s| s.seed).collect())
    }

    /// The end-of-text token id.
    #[getter]
    fn eos_token_id(&self) -> PyResult<u32> {
        Ok(self.lock()?.eos)
    }

    /// What the stages recorded since the last call (the entropy logger's
    /// per-token records and others), as dicts shaped like the lines of
    /// ``logitloom generate --trace``: ``{"stage", "seq", "step", "record"}``,
    /// by sequence, then step.
    fn take_observations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut lines = Vec::new();
        for (seq, s) in self.lock()?.seqs.iter_mut().enumerate() {
            if let Some(instance) = s.instance.as_mut() {
                for o in instance.take_observations() {
                    lines.push(serde_json::json!({"stage": o.stage, "seq": seq, "step": o.step, "record": o.record}));
                }
            }
        }
        // serde_json writes floats in shortest round-trip form, so json.loads
        // gives back exactly the f64 the stage recorded.
        let text = serde_json::Value::Array(lines).to_string();
        py.import("json")?.call_method1("loads", (text,))
    }

    /// Seconds spent in each stage so far, summed over the batch.
    fn stage_times(&self) -> PyResult<BTreeMap<String, f64>> {
        let mut out = BTreeMap::new();
        for instance in self.lock()?.seqs.iter().filter_map(|s| s.instance.as_ref()) {
            for (label, time) in instance.stage_times() {
                *out.entry(label).or_insert(0.0) += time.as_secs_f64();
            }
        }
        Ok(out)
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.lock()?.seqs.len())
    }

    fn __repr__(&self) -> PyResult<String> {
        let state = self.lock()?;
        let done = state.seqs.iter().filter(|s| s.finished).count();
        Ok(format!("Sequences(batch={}, finished={done})", state.seqs.len()))
    }
}

/// The byte string of every token id, as the chain's stages see them.
#[pyfunction]
fn token_bytes<'py>(py: Python<'py>, tokenizer: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let vocab = resolve_tokenizer(tokenizer)?;
    PyList::new(py, vocab.token_bytes.iter().map(|b| pyo3::types::PyBytes::new(py, b)))
}

/// The processors a plugin file offers (or the built-in ones, without
/// ``path``), as dicts: ``name``, ``kind`` (``processor`` or ``sampler``),
/// ``description``, ``params`` and the flags ``needs_raw_logits``,
/// ``needs_token_bytes``, ``may_rewind``. What ``logitloom plugins`` lists.
///
/// Raises :class:`ChainConfigError` for a file that is not a loadable plugin.
#[pyfunction]
#[pyo3(signature = (path=None))]
fn plugin_processors<'py>(py: Python<'py>, path: Option<PathBuf>) -> PyResult<Bound<'py, PyAny>> {
    let library = match &path {
        None => PluginLibrary::from_entries(logitloom_builtins::entries()),
        Some(p) => {
            let options = HostOptions::default();
            py.detach(|| PluginLibrary::open(p, &options)).map_err(|e| load_error(py, &e))?
        }
    };
    let text = serde_json::to_string(library.processors())
        .map_err(|e| LogitloomError::new_err(format!("cannot describe the plugin: {e}")))?;
    py.import("json")?.call_method1("loads", (text,))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Chain>()?;
    m.add_class::<Sequences>()?;
    m.add_function(wrap_pyfunction!(token_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(plugin_processors, m)?)?;
    m.add("LogitloomError", py.get_type::<LogitloomError>())?;
    m.add("ChainConfigError", py.get_type::<ChainConfigError>())?;
    m.add("PluginError", py.get_type::<PluginError>())?;
    m.add("INTERFACE_VERSION", logitloom_plugin_host::INTERFACE_VERSION.to_string())?;
    Ok(())
}
