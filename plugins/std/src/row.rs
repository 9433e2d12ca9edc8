//! Shared arithmetic over a logits row: the live entries, softmax sums,
//! entropy and "the k largest".
//!
//! Every function here treats `-inf` as "removed by an earlier stage" and
//! skips it, so a row that a grammar or top-k already cut down to a few
//! tokens costs one vector comparison per 16 dead entries and nothing more.
//! Sums run in index order and accumulate in `f64`, `exp` is our own
//! [`exp`] (plain IEEE arithmetic) and `log` comes from `libm`, so the
//! result is the same bits natively and in WASM.

use std::ops::ControlFlow;

pub use logitloom_numerics::exp;

/// Whether an earlier stage left this token in play.
#[inline]
pub fn is_live(logit: f32) -> bool {
    logit != f32::NEG_INFINITY
}

/// Width of the blocks the scans below test at once: a block with no entry
/// above the floor (`-inf` for "removed") is skipped whole.
pub const BLOCK: usize = 16;

mod lanes;

/// The first block at or after `from` with an entry above `floor` (or,
/// with `invalid_too`, a NaN or `+inf`); `blocks.len()` if none.
///
/// Kept out of line on purpose: as its own small loop it stays in
/// registers under wasmtime's compiler, which spilled the vectors to the
/// stack once the skip test was inlined into a scan's larger body (3x
/// slower in WASM). Natively it costs one call per flagged block.
#[inline(never)]
fn next_flagged_block(blocks: &[[f32; BLOCK]], from: usize, floor: f32, invalid_too: bool) -> usize {
    let mut b = from;
    // Four blocks per iteration: under wasmtime every loop iteration also
    // checks the epoch deadline, so fewer, fuller iterations are cheaper.
    while b + 3 < blocks.len()
        && !(lanes::any_above(&blocks[b], floor, invalid_too)
            | lanes::any_above(&blocks[b + 1], floor, invalid_too)
            | lanes::any_above(&blocks[b + 2], floor, invalid_too)
            | lanes::any_above(&blocks[b + 3], floor, invalid_too))
    {
        b += 4;
    }
    while b < blocks.len() && !lanes::any_above(&blocks[b], floor, invalid_too) {
        b += 1;
    }
    b
}

/// Calls `visit(index, logit)`, in index order, for every entry above
/// `floor()`, which is read again at the start of each 16-entry block (so a
/// floor that `visit` raises takes effect from the next block on; callers
/// re-check against their current floor). Blocks with nothing above the
/// floor cost one vector test; in the others only the entries above it are
/// visited, picked from a bit mask. NaN is never above anything, so it is
/// never visited; pass `-inf` to visit every live entry.
#[inline]
pub fn for_each_above(logits: &[f32], mut floor: impl FnMut() -> f32, mut visit: impl FnMut(usize, f32)) {
    let (blocks, rest) = logits.as_chunks::<BLOCK>();
    let mut b = 0;
    loop {
        let current = floor();
        b = next_flagged_block(blocks, b, current, false);
        let Some(block) = blocks.get(b) else { break };
        let mut bits = lanes::above_bits(block, current);
        while bits != 0 {
            let j = bits.trailing_zeros() as usize;
            visit(b * BLOCK + j, block[j]);
            bits &= bits - 1;
        }
        b += 1;
    }
    let current = floor();
    for (j, &l) in rest.iter().enumerate() {
        if l > current {
            visit(blocks.len() * BLOCK + j, l);
        }
    }
}

/// The largest live logit, or `None` when every entry is `-inf`.
pub fn max_live(logits: &[f32]) -> Option<f32> {
    let best = std::cell::Cell::new(f32::NEG_INFINITY);
    // Only blocks that could raise the running best are looked into.
    for_each_above(
        logits,
        || best.get(),
        |_, l| {
            if l > best.get() {
                best.set(l);
            }
        },
    );
    is_live(best.get()).then_some(best.get())
}

/// A NaN or `+inf` logit (its token id), which no sampler can draw from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidLogit(pub usize);

/// The largest live logit and its token (the lowest id among tied maxima),
/// or `None` when every entry is `-inf`; fails on the first NaN or `+inf`.
/// One pass that skips blocks with nothing above the running best, so
/// greedy costs one SIMD compare per 16 entries on most of a row.
pub fn argmax_checked(logits: &[f32]) -> Result<Option<(f32, u32)>, InvalidLogit> {
    fn scan(start: usize, block: &[f32], best: &mut (f32, usize)) -> Result<(), InvalidLogit> {
        for (j, &l) in block.iter().enumerate() {
            if l.is_nan() || l == f32::INFINITY {
                return Err(InvalidLogit(start + j));
            }
            // Strictly greater: an equal later entry never replaces an earlier one.
            if l > best.0 {
                *best = (l, start + j);
            }
        }
        Ok(())
    }
    let mut best = (f32::NEG_INFINITY, 0usize);
    let (blocks, rest) = logits.as_chunks::<BLOCK>();
    let mut b = 0;
    loop {
        b = next_flagged_block(blocks, b, best.0, true);
        let Some(block) = blocks.get(b) else { break };
        scan(b * BLOCK, block, &mut best)?;
        b += 1;
    }
    scan(blocks.len() * BLOCK, rest, &mut best)?;
    Ok(is_live(best.0).then_some((best.0, best.1 as u32)))
}

/// Gathers the live `(logit, token)` pairs in id order; returns their max.
/// After a top-k stage this is one fast pass and a handful of entries, so
/// later work runs on the list instead of the row.
pub fn gather_live(logits: &[f32], out: &mut Vec<(f32, u32)>) -> Option<f32> {
    out.clear();
    let mut max = f32::NEG_INFINITY;
    for_each_above(
        logits,
        || f32::NEG_INFINITY,
        |i, l| {
            out.push((l, i as u32));
            max = if l > max { l } else { max };
        },
    );
    is_live(max).then_some(max)
}

/// The softmax weights `exp(l - max)` of one block (0 for removed
/// entries), computed as a plain array loop, which vectorises.
#[inline(always)]
fn block_weights(block: &[f32], max: f32, out: &mut [f32; BLOCK]) {
    for (w, &l) in out.iter_mut().zip(block) {
        *w = exp(l - max);
    }
}

/// Hands `visit(first_id, weights)` the weights `exp(l - max)` of the row
/// in id order, a block at a time, until it breaks (that value is
/// returned). Blocks with every entry removed are skipped: their weights
/// are all exactly 0 and add nothing to any sum. Callers must have ruled
/// out NaN (e.g. with [`argmax_checked`]).
///
/// Samplers use this instead of gathering the live entries first: at a
/// full 50k row the gather (a push per token) cost more than the
/// exponentials, and under WASM five times more.
pub fn for_each_weight_block<B>(
    logits: &[f32],
    max: f32,
    mut visit: impl FnMut(usize, &[f32]) -> ControlFlow<B>,
) -> Option<B> {
    let (blocks, rest) = logits.as_chunks::<BLOCK>();
    let mut weights = [0f32; BLOCK];
    let mut b = 0;
    loop {
        b = next_flagged_block(blocks, b, f32::NEG_INFINITY, false);
        let Some(block) = blocks.get(b) else { break };
        block_weights(block, max, &mut weights);
        if let ControlFlow::Break(value) = visit(b * BLOCK, &weights) {
            return Some(value);
        }
        b += 1;
    }
    block_weights(rest, max, &mut weights);
    match visit(blocks.len() * BLOCK, &weights[..rest.len()]) {
        ControlFlow::Break(value) => Some(value),
        ControlFlow::Continue(()) => None,
    }
}

/// What one pass of `exp`s over a row yields: the log-partition and the
/// entropy of its softmax.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softmax {
    /// `ln Σ exp(l)` over the live entries; `l - log_z` is a log-probability.
    pub log_z: f64,
    /// Shannon entropy in nats.
    pub entropy: f64,
}

/// The softmax summary of a row, skipping `-inf` (probability exactly zero,
/// contributing exactly zero), so a heavily masked row is exact and never
/// NaN. `None` when no entry is live.
///
/// With `m` the max and `e_i = exp(l_i - m)`, `Z = Σ e_i`:
/// `H = -Σ (e_i/Z) ln(e_i/Z) = ln Z - Σ e_i (l_i - m) / Z`, one pass.
pub fn softmax(logits: &[f32]) -> Option<Softmax> {
    let max = max_live(logits)?;
    // Eight running sums, one per id mod 8, added up in a fixed order at
    // the end: eight independent dependency chains instead of one (a
    // single f64 chain over 50k entries is bound by add latency), and the
    // order, hence every bit, is still the same on every target.
    const LANES: usize = 8;
    let (mut z, mut weighted) = ([0.0f64; LANES], [0.0f64; LANES]);
    for_each_weight_block(logits, max, |first, weights| {
        for (chunk, ls) in weights.chunks(LANES).zip(logits[first..].chunks(LANES)) {
            for lane in 0..chunk.len() {
                let (e, l) = (chunk[lane], ls[lane]);
                // A zero weight adds nothing (and `0 * -inf` would be NaN).
                let term = if e > 0.0 { e as f64 * (l - max) as f64 } else { 0.0 };
                z[lane] += e as f64;
                weighted[lane] += term;
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let (z, weighted) = (z.iter().sum::<f64>(), weighted.iter().sum::<f64>());
    let ln_z = libm::log(z);
    Some(Softmax {
        log_z: max as f64 + ln_z,
        // Rounding can leave a one-token distribution a hair below zero.
        entropy: (ln_z - weighted / z).max(0.0),
    })
}

/// Shannon entropy in nats of `softmax(logits)`; see [`softmax`].
pub fn entropy(logits: &[f32]) -> Option<f64> {
    softmax(logits).map(|s| s.entropy)
}

/// Finds the k-th largest live logit.
///
/// One pass that skips every 16-entry block with nothing above the current
/// k-th best, which after the first few hundred entries is almost every
/// block. Candidates above that floor go into a buffer; when it holds `2k`
/// of them a selection keeps the best `k` and raises the floor to the k-th.
/// That costs an amortised few comparisons per candidate, where the bounded
/// heap it replaces paid a sift per candidate (slow under WASM). The answer
/// is a value, so which of several equal values the unstable selection
/// keeps cannot change it. The buffer is kept between steps so it
/// allocates once.
#[derive(Debug, Default)]
pub struct KthLargest {
    candidates: Vec<f32>,
}

impl KthLargest {
    /// The k-th largest live value (`k >= 1`), or `None` when fewer than
    /// `k` entries are live (then every live entry is among the top k).
    pub fn find(&mut self, logits: &[f32], k: usize) -> Option<f32> {
        debug_assert!(k >= 1);
        let candidates = &mut self.candidates;
        candidates.clear();
        let keep_best_k = |candidates: &mut Vec<f32>| {
            candidates.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
            candidates.truncate(k);
            candidates[k - 1]
        };
        // `floor` is the k-th best of what the buffer has held; anything at
        // or below it cannot be among the k best, so neither can a block
        // entirely at or below it.
        let floor = std::cell::Cell::new(f32::NEG_INFINITY);
        let full = k.saturating_mul(2).max(k + BLOCK);
        for_each_above(
            logits,
            || floor.get(),
            |_, l| {
                if l > floor.get() {
                    candidates.push(l);
                    if candidates.len() >= full {
                        floor.set(keep_best_k(candidates));
                    }
                }
            },
        );
        (candidates.len() >= k).then(|| keep_best_k(candidates))
    }
}

/// Sets every entry below `threshold` to `-inf`.
pub fn mask_below(logits: &mut [f32], threshold: f32) {
    let (blocks, rest) = logits.as_chunks_mut::<BLOCK>();
    for block in blocks {
        lanes::mask_below(block, threshold);
    }
    for l in rest {
        *l = if *l < threshold { f32::NEG_INFINITY } else { *l };
    }
}

/// min-p's bulk pass: every entry below `keep_floor` whose `x - max` is
/// under `lo` becomes `-inf`; returns the first ids of the blocks holding
/// entries below `keep_floor` with `x - max` in `[lo, hi]`, for the caller
/// to decide one by one.
pub fn cut_below_band(logits: &mut [f32], max: f32, keep_floor: f32, lo: f32, hi: f32, band_blocks: &mut Vec<usize>) {
    band_blocks.clear();
    let (blocks, rest) = logits.as_chunks_mut::<BLOCK>();
    for (b, block) in blocks.iter_mut().enumerate() {
        if lanes::cut_below_band(block, max, keep_floor, lo, hi) {
            band_blocks.push(b * BLOCK);
        }
    }
    let mut padded = [f32::INFINITY; BLOCK];
    padded[..rest.len()].copy_from_slice(rest);
    let in_band = lanes::cut_below_band(&mut padded, max, keep_floor, lo, hi);
    rest.copy_from_slice(&padded[..rest.len()]);
    if in_band {
        band_blocks.push(blocks.len() * BLOCK);
    }
}

/// Whether two rows hold exactly the same bits. Tests 16 entries per
/// step with an xor-or reduction (which vectorises) rather than one
/// compare-and-branch per entry.
pub fn same_bits(a: &[f32], b: &[f32]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let ((a_blocks, a_rest), (b_blocks, b_rest)) = (a.as_chunks::<BLOCK>(), b.as_chunks::<BLOCK>());
    let differs =
        |x: &[f32], y: &[f32]| x.iter().zip(y).fold(0u32, |acc, (p, q)| acc | (p.to_bits() ^ q.to_bits())) != 0;
    a_blocks.iter().zip(b_blocks).all(|(x, y)| !differs(x, y)) && !differs(a_rest, b_rest)
}

/// Divides every entry by `divisor` (exactly `x / divisor` each).
pub fn divide(logits: &mut [f32], divisor: f32) {
    let (blocks, rest) = logits.as_chunks_mut::<BLOCK>();
    for block in blocks {
        lanes::divide(block, divisor);
    }
    for l in rest {
        *l /= divisor;
    }
}

/// Orders `(logit, token)` pairs best first: higher logit, then lower id.
/// A strict total order, so any selection or sort under it gives the same
/// result whatever the algorithm's internal (platform-dependent) moves.
#[inline]
pub fn best_first(a: &(f32, u32), b: &(f32, u32)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// The `n` best live `(logit, token)` pairs, best first (ties: lower id).
pub fn top_n(logits: &[f32], n: usize, kth: &mut KthLargest, scratch: &mut Vec<(f32, u32)>) -> Vec<(f32, u32)> {
    scratch.clear();
    if n == 0 {
        return Vec::new();
    }
    // The n-th best value bounds the candidates (ties may add a few).
    let floor = kth.find(logits, n).unwrap_or(f32::NEG_INFINITY);
    // Blocks with nothing at or above the floor are skipped whole.
    for_each_above(
        logits,
        || floor.next_down(),
        |i, l| {
            if l >= floor {
                scratch.push((l, i as u32));
            }
        },
    );
    scratch.sort_unstable_by(best_first);
    scratch.truncate(n);
    scratch.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEG: f32 = f32::NEG_INFINITY;

    #[test]
    fn argmax_takes_the_lowest_id_of_tied_maxima_across_blocks() {
        let mut row = vec![NEG; 70];
        row[3] = 1.0;
        row[20] = 2.5;
        row[40] = 2.5; // a tie in a later block
        row[69] = 2.0; // in the remainder
        assert_eq!(argmax_checked(&row), Ok(Some((2.5, 20))));
        row[66] = 3.0;
        assert_eq!(argmax_checked(&row), Ok(Some((3.0, 66))));
        assert_eq!(argmax_checked(&[NEG; 40]), Ok(None));
        // A NaN is found even in a block that cannot raise the best.
        let mut bad = row.clone();
        bad[50] = f32::NAN;
        assert_eq!(argmax_checked(&bad), Err(InvalidLogit(50)));
        bad[50] = f32::INFINITY;
        assert_eq!(argmax_checked(&bad), Err(InvalidLogit(50)));
    }

    #[test]
    fn entropy_of_three_tokens() {
        // Uniform over 3 tokens: H = ln 3 = 1.0986122886681098.
        assert!((entropy(&[0.5, 0.5, 0.5]).unwrap() - 3f64.ln()).abs() < 1e-6);
        // logits ln(1/2), ln(1/4), ln(1/4): H = 0.5 ln2 + 2 * 0.25 ln4 = 1.5 ln 2 = 1.0397207708399179.
        let l = [(0.5f32).ln(), (0.25f32).ln(), (0.25f32).ln()];
        assert!((entropy(&l).unwrap() - 1.0397207708399179).abs() < 1e-6);
        // A removed token changes nothing and never yields NaN: two live equal tokens, H = ln 2.
        assert!((entropy(&[1.0, NEG, 1.0]).unwrap() - 2f64.ln()).abs() < 1e-6);
        assert_eq!(entropy(&[NEG, 3.0, NEG]).unwrap(), 0.0);
        assert_eq!(entropy(&[NEG, NEG]), None);
        // log Z of [0, ln 3] is ln(1 + 3) = ln 4.
        assert!((softmax(&[0.0, 3f32.ln()]).unwrap().log_z - 4f64.ln()).abs() < 1e-6);
    }

    #[test]
    fn kth_largest_agrees_with_sorting_across_blocks() {
        // 1000 values in a scrambled order span many 16-wide blocks.
        let row: Vec<f32> = (0..1000u32).map(|i| ((i * 7919) % 1000) as f32).collect();
        let mut k = KthLargest::default();
        for n in [1, 15, 16, 17, 40, 999, 1000] {
            assert_eq!(k.find(&row, n), Some((1000 - n) as f32), "k = {n}");
        }
        let mut masked = row.clone();
        for (i, l) in masked.iter_mut().enumerate() {
            if i % 3 != 0 {
                *l = NEG;
            }
        }
        let mut live: Vec<f32> = masked.iter().copied().filter(|l| *l != NEG).collect();
        live.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(k.find(&masked, 40), Some(live[39]));
        assert_eq!(max_live(&masked), Some(live[0]));
    }

    #[test]
    fn kth_largest_skips_removed_tokens() {
        let mut k = KthLargest::default();
        let l = [1.0, 5.0, NEG, 3.0, 4.0, 2.0];
        assert_eq!(k.find(&l, 1), Some(5.0));
        assert_eq!(k.find(&l, 3), Some(3.0));
        assert_eq!(k.find(&l, 5), Some(1.0));
        assert_eq!(k.find(&l, 6), None);
    }

    #[test]
    fn top_n_breaks_ties_by_lower_id() {
        let (mut k, mut s) = (KthLargest::default(), Vec::new());
        assert_eq!(top_n(&[2.0, 3.0, 3.0, NEG, 1.0], 2, &mut k, &mut s), vec![(3.0, 1), (3.0, 2)]);
        assert_eq!(top_n(&[2.0, NEG], 5, &mut k, &mut s), vec![(2.0, 0)]);
        assert_eq!(top_n(&[3.0, 3.0, 3.0], 2, &mut k, &mut s), vec![(3.0, 0), (3.0, 1)]);
    }
}
