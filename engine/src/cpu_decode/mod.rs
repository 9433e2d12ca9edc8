//! The CPU decode step: one token per sequence through GPT-2
//! without libtorch, reading the model's weights and the KV cache in place.
//!
//! ## Why it exists
//!
//! At batch 1 on a CPU a decode step is a string of matrix-*vector*
//! products, bound by how fast the weights stream from memory, plus ~25
//! small operations per layer. Through libtorch each of those is a
//! dispatched call costing tens of microseconds, and at one row libtorch's
//! `bf16` products ran *slower* than its `f32` ones on this project's AMX
//! machines (oneDNN picks a tile kernel that reaches ~14 GB/s against
//! ~35 GB/s for f32). Storing weights in bf16 then bought nothing. This
//! module streams every weight exactly once in its stored width over all
//! cores (`kernels::matvec`), does the small operations in place on `f32`
//! scratch rows, and fuses each bias, GELU and residual add into the
//! product that produces its input.
//!
//! ## What it shares with the libtorch path
//!
//! Everything but the arithmetic: the weights are the model's own tensors
//! (no copy, so a model being trained is always decoded as it is now), the
//! cache is the same [`KvCache`] that libtorch prefilled, and the logits
//! go straight into each sampler's buffer. Prefill, context slides and
//! every non-CPU device stay on libtorch. Activations are kept in `f32`
//! throughout, so a bf16 model decodes *more* precisely here than through
//! libtorch, which rounds every intermediate to bf16; f32 results agree
//! with libtorch's to rounding (the cached-decoding tests hold both to
//! 1e-4 of a full recompute).
//!
//! `LOGITLOOM_DECODE=libtorch` (or [`Gpt2::set_decode_path`]) turns it off.

pub mod kernels;
pub mod pool;

use tch::{Device, Kind, Tensor};

use kernels::{MatrixRef, Storage};
use pool::{share, Pool};

use crate::{Gpt2, KvCache};

/// Which code runs a CPU decode step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodePath {
    /// The CPU decode step wherever it applies (CPU, contiguous f32/bf16/f16
    /// weights), unless `LOGITLOOM_DECODE=libtorch` is set.
    Auto,
    /// Always libtorch.
    Libtorch,
}

/// A pointer that may cross into the pool's threads: every use writes a
/// range no other thread touches, and the pool joins before it returns.
#[derive(Clone, Copy)]
struct SharedMut(*mut f32);
// SAFETY: see the type: disjoint writes, joined before the owner resumes.
unsafe impl Send for SharedMut {}
// SAFETY: as for `Send`; the pointer itself is never written through twice.
unsafe impl Sync for SharedMut {}

impl SharedMut {
    /// Through a method, so closures capture the wrapper, not the raw field.
    fn ptr(self) -> *mut f32 {
        self.0
    }
}

struct Norm {
    gain: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

struct LayerWeights {
    ln_1: Norm,
    qkv: MatrixRef,
    qkv_bias: Vec<f32>,
    attn_out: MatrixRef,
    attn_out_bias: Vec<f32>,
    ln_2: Norm,
    fc: MatrixRef,
    fc_bias: Vec<f32>,
    fc_out: MatrixRef,
    fc_out_bias: Vec<f32>,
}

/// Per-row scratch for one step, `rows x width` each, reused across steps.
struct Scratch {
    residual: Vec<f32>,
    normed: Vec<f32>,
    qkv: Vec<f32>,
    attended: Vec<f32>,
    hidden: Vec<f32>,
    /// Attention scores: one `capacity`-long row per pool part.
    scores: Vec<f32>,
}

/// A model's weights seen as raw matrices, ready to decode single tokens.
/// Borrows the model, so the tensors it reads outlive it.
pub struct CpuDecoder<'m> {
    gpt: &'m Gpt2,
    storage: Storage,
    wte: MatrixRef,
    wpe: MatrixRef,
    layers: Vec<LayerWeights>,
    ln_f: Norm,
    scratch: Scratch,
    pool: &'static Pool,
}

fn storage_of(kind: Kind) -> Option<Storage> {
    match kind {
        Kind::Float => Some(Storage::F32),
        Kind::BFloat16 => Some(Storage::Bf16),
        Kind::Half => Some(Storage::F16),
        _ => None,
    }
}

/// The tensor as a raw row-major matrix (its kind checked by the caller).
fn matrix(t: &Tensor, storage: Storage) -> Option<MatrixRef> {
    let (rows, cols) = t.size2().ok()?;
    if !t.is_contiguous() {
        return None;
    }
    Some(MatrixRef { base: t.data_ptr() as *const u8, rows: rows as usize, cols: cols as usize, storage })
}

fn to_f32_vec(t: &Tensor) -> Vec<f32> {
    let flat = t.detach().to_kind(Kind::Float).contiguous().view([-1]);
    let len = flat.numel();
    let mut out = vec![0f32; len];
    flat.copy_data(&mut out, len);
    out
}

fn norm(ln: &crate::layers::LayerNorm) -> Norm {
    Norm { gain: to_f32_vec(&ln.weight), bias: to_f32_vec(&ln.bias), eps: ln.eps as f32 }
}

impl<'m> CpuDecoder<'m> {
    /// A decoder for `gpt` and batches of up to `batch` sequences, or
    /// `None` where the CPU decode step does not apply (not on the CPU, a
    /// dtype it does not read, non-contiguous weights, or turned off).
    pub fn new(gpt: &'m Gpt2, batch: usize) -> Option<CpuDecoder<'m>> {
        if gpt.decode_path() == DecodePath::Libtorch
            || std::env::var("LOGITLOOM_DECODE").is_ok_and(|v| v.eq_ignore_ascii_case("libtorch"))
            || gpt.device() != Device::Cpu
        {
            return None;
        }
        let storage = storage_of(gpt.kind())?;
        let same_kind = |t: &Tensor| t.kind() == gpt.kind();
        let mut layers = Vec::with_capacity(gpt.blocks.len());
        for block in &gpt.blocks {
            let linears = [&block.attn.c_attn, &block.attn.c_proj, &block.mlp.c_fc, &block.mlp.c_proj];
            if !linears.iter().all(|l| same_kind(&l.weight)) {
                return None;
            }
            layers.push(LayerWeights {
                ln_1: norm(&block.ln_1),
                qkv: matrix(&block.attn.c_attn.weight, storage)?,
                qkv_bias: to_f32_vec(&block.attn.c_attn.bias),
                attn_out: matrix(&block.attn.c_proj.weight, storage)?,
                attn_out_bias: to_f32_vec(&block.attn.c_proj.bias),
                ln_2: norm(&block.ln_2),
                fc: matrix(&block.mlp.c_fc.weight, storage)?,
                fc_bias: to_f32_vec(&block.mlp.c_fc.bias),
                fc_out: matrix(&block.mlp.c_proj.weight, storage)?,
                fc_out_bias: to_f32_vec(&block.mlp.c_proj.bias),
            });
        }
        if !same_kind(&gpt.wte) || !same_kind(&gpt.wpe) {
            return None;
        }
        let c = gpt.config.n_embd;
        let pool = Pool::global();
        let capacity = gpt.config.n_positions;
        Some(CpuDecoder {
            gpt,
            storage,
            wte: matrix(&gpt.wte, storage)?,
            wpe: matrix(&gpt.wpe, storage)?,
            layers,
            ln_f: norm(&gpt.ln_f),
            scratch: Scratch {
                residual: vec![0.0; batch * c],
                normed: vec![0.0; batch * c],
                qkv: vec![0.0; batch * 3 * c],
                attended: vec![0.0; batch * c],
                hidden: vec![0.0; batch * 4 * c],
                scores: vec![0.0; pool.parts() * capacity],
            },
            pool,
        })
    }

    /// Decodes one token for each `(row, token)` in `fed`: appends its key
    /// and value at the row's current cache length, advances that length,
    /// and writes the row's next-token logits (`vocab_size` floats) to the
    /// matching pointer in `logits`. Rows not in `fed` are left untouched.
    ///
    /// # Safety
    /// Each `logits` pointer must be valid for `vocab_size` writes and not
    /// used elsewhere during the call.
    pub unsafe fn step(&mut self, cache: &mut KvCache, fed: &[(usize, u32)], logits: &[*mut f32]) {
        assert_eq!(fed.len(), logits.len());
        let cfg = &self.gpt.config;
        let (c, heads) = (cfg.n_embd, cfg.n_head);
        let head_dim = c / heads;
        let rows = fed.len();
        assert!(rows * c <= self.scratch.residual.len(), "more rows than the decoder was built for");
        // The raw reads and writes below rely on the cache's layout.
        assert!(
            cache.capacity() * self.pool.parts() <= self.scratch.scores.len(),
            "cache longer than the model's context"
        );
        for tensors in [&cache.keys, &cache.values] {
            assert_eq!(tensors.len(), self.layers.len());
            for t in tensors {
                assert!(
                    t.kind() == self.gpt.kind() && t.device() == Device::Cpu && t.is_contiguous(),
                    "cache does not match the model"
                );
                assert_eq!(
                    t.size(),
                    [cache.batch_size() as i64, heads as i64, cache.capacity() as i64, head_dim as i64]
                );
            }
        }
        assert!(fed.iter().all(|&(b, _)| b < cache.batch_size()), "row outside the cache's batch");
        let positions: Vec<usize> = fed.iter().map(|&(b, _)| cache.len_of(b)).collect();
        for (i, (&(_, token), &pos)) in fed.iter().zip(&positions).enumerate() {
            assert!(pos < cache.capacity() && pos < cfg.n_positions, "cache overflow: caller must check");
            assert!((token as usize) < cfg.vocab_size, "token {token} is outside the vocabulary");
            let x = &mut self.scratch.residual[i * c..(i + 1) * c];
            let (tok_row, pos_row) = (self.wte.row_ptr(token as usize), self.wpe.row_ptr(pos));
            for (j, v) in x.iter_mut().enumerate() {
                *v = kernels::load_one(self.storage, tok_row, j) + kernels::load_one(self.storage, pos_row, j);
            }
        }
        let pool = self.pool;
        let storage = self.storage;
        let capacity = cache.capacity();
        let scale = 1.0 / (head_dim as f32).sqrt();
        for (layer_index, layer) in self.layers.iter().enumerate() {
            let s = &mut self.scratch;
            for i in 0..rows {
                let span = i * c..(i + 1) * c;
                kernels::layer_norm(
                    &s.residual[span.clone()],
                    &layer.ln_1.gain,
                    &layer.ln_1.bias,
                    layer.ln_1.eps,
                    &mut s.normed[span],
                );
            }
            parallel_matvec(pool, &layer.qkv, &s.normed, &rows_of(&mut s.qkv, rows, 3 * c), &|_, out, range| {
                for (o, b) in out[range.clone()].iter_mut().zip(&layer.qkv_bias[range]) {
                    *o += b;
                }
            });

            // Append this step's keys and values, then attend per (row, head).
            let keys = cache.keys[layer_index].data_ptr() as *mut u8;
            let values = cache.values[layer_index].data_ptr() as *mut u8;
            let slot = |b: usize, h: usize, t: usize| ((b * heads + h) * capacity + t) * head_dim * storage.bytes();
            for (i, (&(b, _), &pos)) in fed.iter().zip(&positions).enumerate() {
                let qkv = &s.qkv[i * 3 * c..(i + 1) * 3 * c];
                for h in 0..heads {
                    kernels::store_all(
                        storage,
                        keys.add(slot(b, h, pos)),
                        &qkv[c + h * head_dim..c + (h + 1) * head_dim],
                    );
                    kernels::store_all(
                        storage,
                        values.add(slot(b, h, pos)),
                        &qkv[2 * c + h * head_dim..2 * c + (h + 1) * head_dim],
                    );
                }
            }
            let (keys, values) = (keys as usize, values as usize);
            let qkv = &s.qkv;
            let attended = SharedMut(s.attended.as_mut_ptr());
            let scores = SharedMut(s.scores.as_mut_ptr());
            let positions = &positions;
            pool.run(&|part, parts| {
                let scores = std::slice::from_raw_parts_mut(scores.ptr().add(part * capacity), capacity);
                for pair in share(rows * heads, part, parts, 1) {
                    let (i, h) = (pair / heads, pair % heads);
                    let (b, len) = (fed[i].0, positions[i] + 1);
                    let q = &qkv[i * 3 * c + h * head_dim..i * 3 * c + (h + 1) * head_dim];
                    kernels::scores_stored(
                        q,
                        storage,
                        (keys as *const u8).add(slot(b, h, 0)),
                        scale,
                        &mut scores[..len],
                    );
                    kernels::softmax(&mut scores[..len]);
                    let out = std::slice::from_raw_parts_mut(attended.ptr().add(i * c + h * head_dim), head_dim);
                    kernels::weighted_sum_stored(
                        &scores[..len],
                        storage,
                        (values as *const u8).add(slot(b, h, 0)),
                        out,
                    );
                }
            });

            let residual = SharedMut(s.residual.as_mut_ptr());
            parallel_matvec(pool, &layer.attn_out, &s.attended, &rows_of(&mut s.hidden, rows, c), &|i, out, range| {
                add_residual(residual, c, i, out, &layer.attn_out_bias, range)
            });
            for i in 0..rows {
                let span = i * c..(i + 1) * c;
                kernels::layer_norm(
                    &s.residual[span.clone()],
                    &layer.ln_2.gain,
                    &layer.ln_2.bias,
                    layer.ln_2.eps,
                    &mut s.normed[span],
                );
            }
            parallel_matvec(pool, &layer.fc, &s.normed, &rows_of(&mut s.hidden, rows, 4 * c), &|_, out, range| {
                kernels::bias_gelu(&mut out[range.clone()], &layer.fc_bias[range]);
            });
            parallel_matvec(pool, &layer.fc_out, &s.hidden, &rows_of(&mut s.attended, rows, c), &|i, out, range| {
                add_residual(residual, c, i, out, &layer.fc_out_bias, range)
            });
        }
        let s = &mut self.scratch;
        for i in 0..rows {
            let span = i * c..(i + 1) * c;
            kernels::layer_norm(
                &s.residual[span.clone()],
                &self.ln_f.gain,
                &self.ln_f.bias,
                self.ln_f.eps,
                &mut s.normed[span],
            );
        }
        let outputs: Vec<SharedMut> = logits.iter().map(|&p| SharedMut(p)).collect();
        parallel_matvec(pool, &self.wte, &s.normed, &outputs, &|_, _, _| {});
        for (&(b, _), &pos) in fed.iter().zip(&positions) {
            cache.set_len(b, pos + 1);
        }
    }
}

/// Pointers to the first `rows` rows of `width` floats in `buffer`.
fn rows_of(buffer: &mut [f32], rows: usize, width: usize) -> Vec<SharedMut> {
    assert!(rows * width <= buffer.len());
    (0..rows).map(|i| SharedMut(buffer[i * width..].as_mut_ptr())).collect()
}

/// Work on one output row's slice (row index, the slice, its column range)
/// while it is still in cache, after the matrix product wrote it.
type Epilogue<'a> = dyn Fn(usize, &mut [f32], std::ops::Range<usize>) + Sync + 'a;

/// `outputs[i] = matrix · inputs[i]` for every sequence row `i` (inputs
/// packed `matrix.cols` apart), split by matrix rows over the pool; each
/// thread then runs `epilogue(i, outputs[i], its rows)` on what it
/// produced, while the values are still in its cache.
///
/// # Safety
/// `outputs` must point at `matrix.rows` writable floats each, used by
/// nothing else during the call.
unsafe fn parallel_matvec(
    pool: &Pool,
    matrix: &MatrixRef,
    inputs: &[f32],
    outputs: &[SharedMut],
    epilogue: &Epilogue<'_>,
) {
    let rows = outputs.len();
    assert!(rows * matrix.cols <= inputs.len());
    let input_base = SharedMut(inputs.as_ptr() as *mut f32);
    pool.run(&|part, parts| {
        let range = share(matrix.rows, part, parts, 16);
        let ins: Vec<*const f32> = (0..rows).map(|i| input_base.ptr().add(i * matrix.cols) as *const f32).collect();
        let outs: Vec<*mut f32> = outputs.iter().map(|p| p.ptr()).collect();
        kernels::matvec(matrix, range.clone(), &ins, &outs);
        for (i, out) in outs.iter().enumerate() {
            epilogue(i, std::slice::from_raw_parts_mut(*out, matrix.rows), range.clone());
        }
    });
}

/// `residual[i] += out + bias` over `range`: a residual add fused into the
/// epilogue of the product that produced `out`.
///
/// # Safety
/// `residual` must point at rows of `width` floats, row `i` included, and
/// no other thread may touch `range` of row `i`.
unsafe fn add_residual(
    residual: SharedMut,
    width: usize,
    i: usize,
    out: &[f32],
    bias: &[f32],
    range: std::ops::Range<usize>,
) {
    let x = std::slice::from_raw_parts_mut(residual.ptr().add(i * width), width);
    for r in range {
        x[r] += out[r] + bias[r];
    }
}
