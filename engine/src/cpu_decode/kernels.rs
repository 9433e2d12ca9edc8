//! The arithmetic of one decode step on plain memory: matrix-vector
//! products over weights stored as `f32`, `bf16` or `f16`, and the
//! element-wise maths around them (layer norm, GELU, softmax).
//!
//! Every function has a portable body and a wide one picked at run time:
//! AVX2 + FMA for the matrix product, AVX-512 for the element-wise loops
//! and attention. All compute in `f32`; the weights and the cache are only
//! *stored* narrow.
//!
//! The matrix product is where a step's time goes. At batch 1 it is bound
//! by how fast the weights stream from memory, so it must read each weight
//! once, in its stored width; at batch 32 it is bound by arithmetic, so it
//! must reuse each loaded weight and input across many products. Its tile
//! (several weight rows times several inputs, one accumulator each) does
//! both, and sums every product in one fixed order, so that a sequence's
//! logits have the same bits whatever else is in its batch.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use std::sync::OnceLock;

use logitloom_numerics::exp;

/// How the elements of a weight matrix or cache are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    F32,
    Bf16,
    F16,
}

impl Storage {
    pub fn bytes(self) -> usize {
        match self {
            Storage::F32 => 4,
            Storage::Bf16 | Storage::F16 => 2,
        }
    }
}

/// True when the AVX-512 bodies may run (checked once).
pub fn has_avx512() -> bool {
    static DETECTED: OnceLock<bool> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            // Every feature the AVX-512 bodies enable; `LOGITLOOM_NO_AVX512`
            // forces the portable bodies (to test them on this hardware).
            std::env::var_os("LOGITLOOM_NO_AVX512").is_none()
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// True when the AVX2 matrix product may run: CPUs without AVX-512 (AMD
/// before Zen 4, many Intel desktops) still have 256-bit FMA, four times
/// the portable body's SSE2 width. `LOGITLOOM_NO_AVX2` (or
/// `LOGITLOOM_NO_AVX512`, which means "no wide bodies") forces the portable one.
pub fn has_avx2() -> bool {
    static DETECTED: OnceLock<bool> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::env::var_os("LOGITLOOM_NO_AVX2").is_none()
                && std::env::var_os("LOGITLOOM_NO_AVX512").is_none()
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// Reads element `i` of narrow or wide storage as `f32`.
///
/// # Safety
/// `base` must point at storage of kind `storage` holding more than `i` elements.
#[inline(always)]
pub unsafe fn load_one(storage: Storage, base: *const u8, i: usize) -> f32 {
    match storage {
        Storage::F32 => *(base as *const f32).add(i),
        Storage::Bf16 => f32::from_bits((*(base as *const u16).add(i) as u32) << 16),
        Storage::F16 => half::f16::from_bits(*(base as *const u16).add(i)).to_f32(),
    }
}

/// Writes `values` into storage of kind `storage` (round to nearest even,
/// as libtorch's own conversions do).
///
/// # Safety
/// `base` must point at writable storage with room for `values.len()` elements.
pub unsafe fn store_all(storage: Storage, base: *mut u8, values: &[f32]) {
    match storage {
        Storage::F32 => std::ptr::copy_nonoverlapping(values.as_ptr(), base as *mut f32, values.len()),
        Storage::Bf16 => {
            for (i, &v) in values.iter().enumerate() {
                *(base as *mut u16).add(i) = half::bf16::from_f32(v).to_bits();
            }
        }
        Storage::F16 => {
            for (i, &v) in values.iter().enumerate() {
                *(base as *mut u16).add(i) = half::f16::from_f32(v).to_bits();
            }
        }
    }
}

/// A row-major matrix in raw memory: `rows` rows of `cols` elements.
#[derive(Clone, Copy, Debug)]
pub struct MatrixRef {
    pub base: *const u8,
    pub rows: usize,
    pub cols: usize,
    pub storage: Storage,
}

// SAFETY: a `MatrixRef` is only read, and whoever builds one keeps the
// memory alive for as long as it is used (see `CpuDecoder`).
unsafe impl Send for MatrixRef {}
// SAFETY: as for `Send`: nothing writes through a `MatrixRef`.
unsafe impl Sync for MatrixRef {}

impl MatrixRef {
    /// # Safety
    /// `row < self.rows`.
    #[inline(always)]
    pub unsafe fn row_ptr(&self, row: usize) -> *const u8 {
        self.base.add(row * self.cols * self.storage.bytes())
    }
}

/// `out[b][r] = dot(matrix row r, inputs[b])` for `r` in `rows`, for every
/// input `b` (each `matrix.cols` long). Each weight row is read from memory
/// once for all inputs.
///
/// # Safety
/// Every input must hold `matrix.cols` floats and every output
/// `matrix.rows` floats; `rows` must lie inside the matrix; no output may
/// be written by anyone else for the rows given.
pub unsafe fn matvec(matrix: &MatrixRef, rows: std::ops::Range<usize>, inputs: &[*const f32], outputs: &[*mut f32]) {
    debug_assert_eq!(inputs.len(), outputs.len());
    // AVX2 even where AVX-512 exists: one body for every batch size keeps
    // a sequence's bits independent of its batch, and this tiled body
    // beat the row-at-a-time AVX-512 one it replaced (docs/performance.md).
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        return avx2::matvec(matrix, rows, inputs, outputs);
    }
    portable_matvec(matrix, rows, inputs, outputs)
}

unsafe fn portable_matvec(
    matrix: &MatrixRef,
    rows: std::ops::Range<usize>,
    inputs: &[*const f32],
    outputs: &[*mut f32],
) {
    let cols = matrix.cols;
    let mut widened = vec![0f32; cols];
    for r in rows {
        let row = matrix.row_ptr(r);
        for (c, w) in widened.iter_mut().enumerate() {
            *w = load_one(matrix.storage, row, c);
        }
        for (input, output) in inputs.iter().zip(outputs) {
            let x = std::slice::from_raw_parts(*input, cols);
            *output.add(r) = dot(&widened, x);
        }
    }
}

/// Dot product with eight independent partial sums, so that the portable
/// build vectorises and both builds sum in a fixed order.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let mut chunks_a = a.chunks_exact(8);
    let mut chunks_b = b.chunks_exact(8);
    for (ca, cb) in (&mut chunks_a).zip(&mut chunks_b) {
        for i in 0..8 {
            lanes[i] += ca[i] * cb[i];
        }
    }
    let mut sum: f32 = lanes.iter().sum();
    for (x, y) in chunks_a.remainder().iter().zip(chunks_b.remainder()) {
        sum += x * y;
    }
    sum
}

/// GPT-2's layer norm, in place semantics: `out = (x - mean) / sqrt(var + eps) * gain + bias`.
pub fn layer_norm(x: &[f32], gain: &[f32], bias: &[f32], eps: f32, out: &mut [f32]) {
    let n = x.len() as f32;
    let mean = sum(x) / n;
    let mut lanes = [0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            let d = c[i] - mean;
            lanes[i] += d * d;
        }
    }
    let mut var: f32 = lanes.iter().sum();
    for &v in chunks.remainder() {
        var += (v - mean) * (v - mean);
    }
    let inv = 1.0 / (var / n + eps).sqrt();
    for i in 0..x.len() {
        out[i] = (x[i] - mean) * inv * gain[i] + bias[i];
    }
}

fn sum(x: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            lanes[i] += c[i];
        }
    }
    lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// `x = gelu_tanh(x + bias)` (GPT-2's "gelu_new").
pub fn bias_gelu(x: &mut [f32], bias: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the CPU has AVX-512 (checked above).
        return unsafe { avx512::bias_gelu(x, bias) };
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        return unsafe { avx2::bias_gelu(x, bias) };
    }
    bias_gelu_loop(x, bias)
}

/// sqrt(2 / pi).
const GELU_SCALE: f32 = 0.797_884_6;

/// One loop for both bodies: branch-free around the project's own `exp`
/// (`logitloom_numerics::exp`, the Cephes scheme the samplers
/// use), so it vectorises at whatever width the caller is compiled for.
#[inline(always)]
fn bias_gelu_loop(x: &mut [f32], bias: &[f32]) {
    for (v, b) in x.iter_mut().zip(bias) {
        let u = *v + b;
        let z = GELU_SCALE * (u + 0.044715 * u * u * u);
        // tanh(z) = 1 - 2 / (e^(2z) + 1) saturates cleanly at both ends;
        // the clamp keeps e^(2z) finite (shared `exp` assumes x < 88).
        let e = exp((2.0 * z).min(80.0));
        *v = 0.5 * u * (2.0 - 2.0 / (e + 1.0));
    }
}

/// Softmax in place.
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    #[cfg(target_arch = "x86_64")]
    let total = if has_avx512() {
        // SAFETY: the CPU has AVX-512 (checked above).
        unsafe { avx512::exp_shifted_in_place(x, max) }
    } else if has_avx2() {
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        unsafe { avx2::exp_shifted_in_place(x, max) }
    } else {
        exp_shifted_loop(x, max)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let total = exp_shifted_loop(x, max);
    let inv = 1.0 / total;
    x.iter_mut().for_each(|v| *v *= inv);
}

/// `x = e^(x - shift)`, returning the sum (eight partial sums, so it
/// vectorises).
#[inline(always)]
fn exp_shifted_loop(x: &mut [f32], shift: f32) -> f32 {
    let mut lanes = [0f32; 8];
    let mut chunks = x.chunks_exact_mut(8);
    for c in &mut chunks {
        for i in 0..8 {
            c[i] = exp(c[i] - shift);
            lanes[i] += c[i];
        }
    }
    let mut total: f32 = lanes.iter().sum();
    for v in chunks.into_remainder() {
        *v = exp(*v - shift);
        total += *v;
    }
    total
}

/// Attention scores against keys stored one after another:
/// `scores[t] = scale * dot(q, key t)`, key `t` being the `q.len()`
/// elements at element offset `t * q.len()` of `keys`.
///
/// One call per (sequence, head) rather than one per key: at batch 32 the
/// per-call dispatch was a tenth of the step.
///
/// # Safety
/// `keys` must hold `scores.len() * q.len()` elements of kind `storage`.
pub unsafe fn scores_stored(q: &[f32], storage: Storage, keys: *const u8, scale: f32, scores: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() && q.len().is_multiple_of(8) {
        return avx2::scores_stored(q, storage, keys, scale, scores);
    }
    let stride = q.len() * storage.bytes();
    for (t, score) in scores.iter_mut().enumerate() {
        *score = dot_stored(q, storage, keys.add(t * stride)) * scale;
    }
}

/// Attention's weighted sum of values stored one after another:
/// `out = sum over t of weights[t] * value t`, value `t` being the
/// `out.len()` elements at element offset `t * out.len()` of `values`.
///
/// # Safety
/// `values` must hold `weights.len() * out.len()` elements of kind `storage`.
pub unsafe fn weighted_sum_stored(weights: &[f32], storage: Storage, values: *const u8, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() && out.len().is_multiple_of(8) {
        return avx2::weighted_sum_stored(weights, storage, values, out);
    }
    out.fill(0.0);
    let stride = out.len() * storage.bytes();
    for (t, &weight) in weights.iter().enumerate() {
        axpy_stored(out, weight, storage, values.add(t * stride));
    }
}

/// `dot(q, row)` for a row in any storage.
///
/// # Safety
/// `row` must hold `q.len()` elements of kind `storage`.
unsafe fn dot_stored(q: &[f32], storage: Storage, row: *const u8) -> f32 {
    let mut lanes = [0f32; 8];
    let n = q.len();
    let full = n / 8 * 8;
    for c in (0..full).step_by(8) {
        for (i, (lane, &x)) in lanes.iter_mut().zip(&q[c..c + 8]).enumerate() {
            *lane += x * load_one(storage, row, c + i);
        }
    }
    let mut total: f32 = lanes.iter().sum();
    for (i, &x) in q.iter().enumerate().skip(full) {
        total += x * load_one(storage, row, i);
    }
    total
}

/// `acc += weight * row` for a row in any storage.
///
/// # Safety
/// `row` must hold `acc.len()` elements of kind `storage`.
unsafe fn axpy_stored(acc: &mut [f32], weight: f32, storage: Storage, row: *const u8) {
    for (i, a) in acc.iter_mut().enumerate() {
        *a += weight * load_one(storage, row, i);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::*;

    /// The shared loops, compiled with AVX-512 enabled so that they
    /// vectorise sixteen lanes wide.
    #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
    pub(super) unsafe fn bias_gelu(x: &mut [f32], bias: &[f32]) {
        bias_gelu_loop(x, bias)
    }

    #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
    pub(super) unsafe fn exp_shifted_in_place(x: &mut [f32], shift: f32) -> f32 {
        exp_shifted_loop(x, shift)
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;

    /// Eight elements of `storage` at element offset `i`, widened to f32.
    #[inline(always)]
    unsafe fn load8(storage: Storage, base: *const u8, i: usize) -> __m256 {
        match storage {
            Storage::F32 => _mm256_loadu_ps((base as *const f32).add(i)),
            Storage::Bf16 => {
                let halves = _mm_loadu_si128((base as *const u16).add(i) as *const __m128i);
                _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(halves)))
            }
            Storage::F16 => _mm256_cvtph_ps(_mm_loadu_si128((base as *const u16).add(i) as *const __m128i)),
        }
    }

    /// Inputs one pass takes: with [`WIDE_ROWS`] weight rows that is 12
    /// accumulators, enough to cover FMA latency on two pipes, plus two
    /// weight vectors and an input vector: 15 of AVX2's 16 registers.
    const GROUP: usize = 6;
    /// Weight rows per tile when there are several inputs to share them.
    const WIDE_ROWS: usize = 2;
    /// Weight rows per tile for one or two inputs, where the accumulators
    /// would otherwise be too few to keep both FMA pipes busy.
    const TALL_ROWS: usize = 4;
    /// Rows per block, small enough to stay in L2 while every group of
    /// inputs passes over it, so each weight leaves memory once.
    const ROW_BLOCK: usize = 32;

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn matvec(
        matrix: &MatrixRef,
        rows: std::ops::Range<usize>,
        inputs: &[*const f32],
        outputs: &[*mut f32],
    ) {
        macro_rules! by_storage {
            ($r:expr, $g:literal, $first:expr, $ins:expr, $outs:expr) => {
                match matrix.storage {
                    Storage::F32 => tile::<$r, $g, 0>(matrix, $first, $ins, $outs),
                    Storage::Bf16 => tile::<$r, $g, 1>(matrix, $first, $ins, $outs),
                    Storage::F16 => tile::<$r, $g, 2>(matrix, $first, $ins, $outs),
                }
            };
        }
        // Rows in `first..end` by tiles of `$r`, then one at a time.
        macro_rules! over_rows {
            ($r:expr, $g:literal, $start:expr, $end:expr, $ins:expr, $outs:expr) => {{
                let mut first = $start;
                while first + $r <= $end {
                    by_storage!($r, $g, first, $ins, $outs);
                    first += $r;
                }
                while first < $end {
                    by_storage!(1, $g, first, $ins, $outs);
                    first += 1;
                }
            }};
        }
        let mut block_start = rows.start;
        while block_start < rows.end {
            let block_end = (block_start + ROW_BLOCK).min(rows.end);
            let mut start = 0;
            while start < inputs.len() {
                let group = (inputs.len() - start).min(GROUP);
                let (ins, outs) = (&inputs[start..start + group], &outputs[start..start + group]);
                match group {
                    1 => over_rows!(TALL_ROWS, 1, block_start, block_end, ins, outs),
                    2 => over_rows!(TALL_ROWS, 2, block_start, block_end, ins, outs),
                    3 => over_rows!(WIDE_ROWS, 3, block_start, block_end, ins, outs),
                    4 => over_rows!(WIDE_ROWS, 4, block_start, block_end, ins, outs),
                    5 => over_rows!(WIDE_ROWS, 5, block_start, block_end, ins, outs),
                    _ => over_rows!(WIDE_ROWS, 6, block_start, block_end, ins, outs),
                }
                start += group;
            }
            block_start = block_end;
        }
    }

    /// `R` weight rows from `first` times `G` inputs: `R * G` dot products,
    /// each weight vector loaded once for all `G` inputs and each input
    /// vector once for all `R` rows.
    ///
    /// Every product has one accumulator, filled eight columns at a time
    /// in column order and then summed by one fixed tree ([`total`]);
    /// leftover columns are added after, in order. So a product's bits
    /// depend only on its row and its input, never on the tile's shape or
    /// on the other inputs: a sequence decodes the same alone or in a batch.
    #[inline(always)]
    unsafe fn tile<const R: usize, const G: usize, const S: u8>(
        matrix: &MatrixRef,
        first: usize,
        inputs: &[*const f32],
        outputs: &[*mut f32],
    ) {
        let storage = match S {
            0 => Storage::F32,
            1 => Storage::Bf16,
            _ => Storage::F16,
        };
        let cols = matrix.cols;
        let full = cols / 8 * 8;
        let mut xs = [std::ptr::null::<f32>(); G];
        xs.copy_from_slice(&inputs[..G]);
        let mut ws = [std::ptr::null::<u8>(); R];
        for (r, w) in ws.iter_mut().enumerate() {
            *w = matrix.row_ptr(first + r);
        }
        let mut acc = [[_mm256_setzero_ps(); G]; R];
        let mut c = 0;
        while c < full {
            let mut wv = [_mm256_setzero_ps(); R];
            for r in 0..R {
                wv[r] = load8(storage, ws[r], c);
            }
            for g in 0..G {
                let x = _mm256_loadu_ps(xs[g].add(c));
                for r in 0..R {
                    acc[r][g] = _mm256_fmadd_ps(wv[r], x, acc[r][g]);
                }
            }
            c += 8;
        }
        for r in 0..R {
            for g in 0..G {
                let mut sum = total(acc[r][g]);
                for t in full..cols {
                    sum += load_one(storage, ws[r], t) * *xs[g].add(t);
                }
                *outputs[g].add(first + r) = sum;
            }
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn scores_stored(q: &[f32], storage: Storage, keys: *const u8, scale: f32, scores: &mut [f32]) {
        let width = q.len();
        let stride = width * storage.bytes();
        for (t, score) in scores.iter_mut().enumerate() {
            let row = keys.add(t * stride);
            // Two accumulators: a head's 64 elements are only 8 FMAs, too
            // few for one dependency chain to hide their latency.
            let (mut even, mut odd) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let mut i = 0;
            while i + 16 <= width {
                even = _mm256_fmadd_ps(_mm256_loadu_ps(q.as_ptr().add(i)), load8(storage, row, i), even);
                odd = _mm256_fmadd_ps(_mm256_loadu_ps(q.as_ptr().add(i + 8)), load8(storage, row, i + 8), odd);
                i += 16;
            }
            if i < width {
                even = _mm256_fmadd_ps(_mm256_loadu_ps(q.as_ptr().add(i)), load8(storage, row, i), even);
            }
            *score = total(_mm256_add_ps(even, odd)) * scale;
        }
    }

    /// Elements of `out` kept in registers across all the values: eight
    /// vectors, a whole 64-wide head, so `out` is written once.
    const SUM_CHUNK: usize = 64;

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn weighted_sum_stored(weights: &[f32], storage: Storage, values: *const u8, out: &mut [f32]) {
        let width = out.len();
        let stride = width * storage.bytes();
        let mut start = 0;
        while start + SUM_CHUNK <= width {
            let mut acc = [_mm256_setzero_ps(); SUM_CHUNK / 8];
            for (t, &weight) in weights.iter().enumerate() {
                let (w, row) = (_mm256_set1_ps(weight), values.add(t * stride));
                for (k, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(w, load8(storage, row, start + 8 * k), *a);
                }
            }
            for (k, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(out.as_mut_ptr().add(start + 8 * k), *a);
            }
            start += SUM_CHUNK;
        }
        while start < width {
            let mut acc = _mm256_setzero_ps();
            for (t, &weight) in weights.iter().enumerate() {
                acc = _mm256_fmadd_ps(_mm256_set1_ps(weight), load8(storage, values.add(t * stride), start), acc);
            }
            _mm256_storeu_ps(out.as_mut_ptr().add(start), acc);
            start += 8;
        }
    }

    /// The shared element-wise loops, compiled eight lanes wide.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn bias_gelu(x: &mut [f32], bias: &[f32]) {
        bias_gelu_loop(x, bias)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn exp_shifted_in_place(x: &mut [f32], shift: f32) -> f32 {
        exp_shifted_loop(x, shift)
    }

    /// The sum of a vector's eight lanes: halves, then pairs, then the two.
    #[inline(always)]
    unsafe fn total(v: __m256) -> f32 {
        let four = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let two = _mm_add_ps(four, _mm_movehl_ps(four, four));
        _mm_cvtss_f32(_mm_add_ss(two, _mm_shuffle_ps::<0b01>(two, two)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_gelu(u: f32) -> f32 {
        let u = u as f64;
        (0.5 * u * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (u + 0.044715 * u * u * u)).tanh())) as f32
    }

    #[test]
    fn vector_gelu_matches_the_formula_across_its_range() {
        let inputs: Vec<f32> = (0..4001).map(|i| (i as f32 - 2000.0) / 100.0).collect();
        let mut x = inputs.clone();
        let zeros = vec![0.0; x.len()];
        bias_gelu(&mut x, &zeros);
        for (u, got) in inputs.iter().zip(&x) {
            let want = reference_gelu(*u);
            assert!((got - want).abs() <= 2e-6 * want.abs().max(1.0), "gelu({u}) = {got}, want {want}");
        }
    }

    #[test]
    fn softmax_sums_to_one_and_matches_exp() {
        let mut x: Vec<f32> = (0..37).map(|i| ((i * 7919) % 23) as f32 * 0.9 - 10.0).collect();
        let max = x.iter().copied().fold(f32::MIN, f32::max) as f64;
        let total: f64 = x.iter().map(|&v| (v as f64 - max).exp()).sum();
        let want: Vec<f64> = x.iter().map(|&v| (v as f64 - max).exp() / total).collect();
        softmax(&mut x);
        for (got, want) in x.iter().zip(&want) {
            assert!((*got as f64 - want).abs() < 1e-6, "{got} vs {want}");
        }
    }

    #[test]
    fn matvec_agrees_in_every_storage_and_group_size() {
        let (rows, cols) = (19, 77); // odd sizes exercise the tails
        let weights: Vec<f32> = (0..rows * cols).map(|i| ((i * 37 % 101) as f32 - 50.0) / 64.0).collect();
        let inputs: Vec<Vec<f32>> =
            (0..6).map(|b| (0..cols).map(|c| ((c * 13 + b * 7) % 17) as f32 / 8.0 - 1.0).collect()).collect();
        let bf16: Vec<u16> = weights.iter().map(|&w| half::bf16::from_f32(w).to_bits()).collect();
        let f16: Vec<u16> = weights.iter().map(|&w| half::f16::from_f32(w).to_bits()).collect();
        // These weights are exact in all three storages, so all agree.
        for (storage, base) in [
            (Storage::F32, weights.as_ptr() as *const u8),
            (Storage::Bf16, bf16.as_ptr() as *const u8),
            (Storage::F16, f16.as_ptr() as *const u8),
        ] {
            let matrix = MatrixRef { base, rows, cols, storage };
            for batch in 1..=6 {
                let mut outputs = vec![vec![f32::NAN; rows]; batch];
                let ins: Vec<*const f32> = inputs[..batch].iter().map(|x| x.as_ptr()).collect();
                let outs: Vec<*mut f32> = outputs.iter_mut().map(|o| o.as_mut_ptr()).collect();
                // Two calls over split row ranges, as the worker pool makes
                // them; then the portable body over the same rows.
                // SAFETY: every input holds `cols` floats, every output `rows`.
                unsafe {
                    matvec(&matrix, 0..7, &ins, &outs);
                    matvec(&matrix, 7..rows, &ins, &outs);
                }
                let mut portable = vec![vec![f32::NAN; rows]; batch];
                let portable_outs: Vec<*mut f32> = portable.iter_mut().map(|o| o.as_mut_ptr()).collect();
                // SAFETY: as above.
                unsafe { portable_matvec(&matrix, 0..rows, &ins, &portable_outs) };
                for b in 0..batch {
                    for r in 0..rows {
                        assert!(
                            (portable[b][r] - outputs[b][r]).abs() < 1e-4,
                            "{storage:?}: portable and dispatched bodies differ"
                        );
                    }
                }
                for b in 0..batch {
                    for r in 0..rows {
                        let want: f64 = (0..cols).map(|c| weights[r * cols + c] as f64 * inputs[b][c] as f64).sum();
                        let got = outputs[b][r] as f64;
                        assert!((got - want).abs() < 1e-4, "{storage:?} batch {batch} row {r}: {got} vs {want}");
                    }
                }
            }
        }
    }

    /// A sequence's logits must not depend on what else is in the batch
    /// (the server promises a request the same tokens alone or among 32):
    /// each product's bits must be the same whatever the group size, the
    /// tile it lands in, or its neighbours.
    #[test]
    fn a_product_has_the_same_bits_in_any_batch() {
        let (rows, cols) = (37, 203); // tails in both rows and columns
        let weights: Vec<f32> = (0..rows * cols).map(|i| ((i * 7919 % 1009) as f32 - 504.0) / 997.0).collect();
        let bf16: Vec<u16> = weights.iter().map(|&w| half::bf16::from_f32(w).to_bits()).collect();
        let inputs: Vec<Vec<f32>> =
            (0..40).map(|b| (0..cols).map(|c| ((c * 31 + b * 17) % 61) as f32 / 29.0 - 1.0).collect()).collect();
        for (storage, base) in
            [(Storage::F32, weights.as_ptr() as *const u8), (Storage::Bf16, bf16.as_ptr() as *const u8)]
        {
            let matrix = MatrixRef { base, rows, cols, storage };
            let run = |batch: &[usize]| -> Vec<Vec<u32>> {
                let mut outputs = vec![vec![f32::NAN; rows]; batch.len()];
                let ins: Vec<*const f32> = batch.iter().map(|&b| inputs[b].as_ptr()).collect();
                let outs: Vec<*mut f32> = outputs.iter_mut().map(|o| o.as_mut_ptr()).collect();
                // SAFETY: every input holds `cols` floats, every output `rows`.
                unsafe {
                    matvec(&matrix, 0..13, &ins, &outs);
                    matvec(&matrix, 13..rows, &ins, &outs);
                }
                outputs.iter().map(|o| o.iter().map(|v| v.to_bits()).collect()).collect()
            };
            let alone: Vec<Vec<u32>> = (0..inputs.len()).map(|b| run(&[b]).remove(0)).collect();
            for size in [2, 3, 5, 6, 7, 8, 9, 13, 32, 40] {
                // Each input in several positions and company.
                for shift in [0, 3, 11] {
                    let batch: Vec<usize> = (0..size).map(|i| (i * 7 + shift) % inputs.len()).collect();
                    for (got, &b) in run(&batch).iter().zip(&batch) {
                        assert_eq!(got, &alone[b], "{storage:?}: input {b} in a batch of {size} differs from alone");
                    }
                }
            }
        }
    }

    #[test]
    fn attention_scores_and_sums_match_a_reference_in_every_storage() {
        for width in [64, 24, 8, 13] {
            let len = 11;
            let stored: Vec<f32> = (0..len * width).map(|i| ((i * 29 % 67) as f32 - 33.0) / 16.0).collect();
            let q: Vec<f32> = (0..width).map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0).collect();
            let weights: Vec<f32> = (0..len).map(|t| (t as f32 + 1.0) / 66.0).collect();
            let bf16: Vec<u16> = stored.iter().map(|&w| half::bf16::from_f32(w).to_bits()).collect();
            let f16: Vec<u16> = stored.iter().map(|&w| half::f16::from_f32(w).to_bits()).collect();
            // Exact in all three storages, so one reference serves them all.
            for (storage, base) in [
                (Storage::F32, stored.as_ptr() as *const u8),
                (Storage::Bf16, bf16.as_ptr() as *const u8),
                (Storage::F16, f16.as_ptr() as *const u8),
            ] {
                let mut scores = vec![f32::NAN; len];
                let mut sum = vec![f32::NAN; width];
                // SAFETY: `stored` holds `len` rows of `width`.
                unsafe {
                    scores_stored(&q, storage, base, 0.5, &mut scores);
                    weighted_sum_stored(&weights, storage, base, &mut sum);
                }
                for (t, got) in scores.iter().enumerate() {
                    let want: f64 = 0.5 * (0..width).map(|i| q[i] as f64 * stored[t * width + i] as f64).sum::<f64>();
                    assert!((*got as f64 - want).abs() < 1e-4, "{storage:?} width {width} score {t}: {got} vs {want}");
                }
                for (i, got) in sum.iter().enumerate() {
                    let want: f64 = (0..len).map(|t| weights[t] as f64 * stored[t * width + i] as f64).sum();
                    assert!((*got as f64 - want).abs() < 1e-4, "{storage:?} width {width} sum {i}: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn layer_norm_normalises() {
        let x: Vec<f32> = (0..21).map(|i| i as f32 * 0.5 - 3.0).collect();
        let mut out = vec![0.0; 21];
        layer_norm(&x, &[2.0; 21], &[1.0; 21], 1e-5, &mut out);
        let mean: f32 = out.iter().sum::<f32>() / 21.0;
        let var: f32 = out.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 21.0;
        assert!((mean - 1.0).abs() < 1e-5 && (var - 4.0).abs() < 1e-3, "mean {mean} var {var}");
    }
}
