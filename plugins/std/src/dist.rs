//! Shared arithmetic over a logits row: the live entries, softmax sums,
//! entropy and "the k largest".
//!
//! Every function here treats `-inf` as "removed by an earlier stage" and
//! skips it, so a row that a grammar or top-k already cut down to a few
//! tokens costs one cheap comparison per dead entry and nothing more.
//! Sums run in index order and accumulate in `f64`, and `exp`/`log` come
//! from `libm`, so the result is the same bits natively and in WASM.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Whether an earlier stage left this token in play.
#[inline]
pub fn is_live(logit: f32) -> bool {
    logit != f32::NEG_INFINITY
}

/// Width of the blocks the scans below test at once: a block with no entry
/// above the floor (`-inf` for "removed") is skipped whole.
const BLOCK: usize = 16;

/// Whether any entry of a block exceeds `floor` (NaN never does). A fixed
/// width and an or-reduction of comparisons let LLVM emit a few SIMD
/// compares; a running float `max` would not vectorise without fast-math.
#[inline]
fn any_above(block: &[f32; BLOCK], floor: f32) -> bool {
    block.iter().fold(false, |any, &x| any | (x > floor))
}

/// Whether a block holds a NaN or `+inf`.
#[inline]
fn any_invalid(block: &[f32; BLOCK]) -> bool {
    block.iter().fold(false, |any, &x| any | x.is_nan() | (x == f32::INFINITY))
}

/// Calls `visit(index, logit)` for every live, non-NaN entry in index order,
/// skipping blocks with nothing above `floor()` (pass `-inf` for "all live").
#[inline]
pub fn for_each_above(logits: &[f32], mut floor: impl FnMut() -> f32, mut visit: impl FnMut(usize, f32)) {
    let mut blocks = logits.chunks_exact(BLOCK);
    let mut base = 0;
    for block in &mut blocks {
        let block: &[f32; BLOCK] = block.try_into().expect("chunks_exact yields BLOCK entries");
        if any_above(block, floor()) {
            for (j, &l) in block.iter().enumerate() {
                if is_live(l) && !l.is_nan() {
                    visit(base + j, l);
                }
            }
        }
        base += BLOCK;
    }
    for (j, &l) in blocks.remainder().iter().enumerate() {
        if is_live(l) && !l.is_nan() {
            visit(base + j, l);
        }
    }
}

/// The largest live logit, or `None` when every entry is `-inf`.
pub fn max_live(logits: &[f32]) -> Option<f32> {
    let best = std::cell::Cell::new(f32::NEG_INFINITY);
    // Only blocks that could raise the running best are looked into.
    for_each_above(logits, || best.get(), |_, l| {
        if l > best.get() {
            best.set(l);
        }
    });
    is_live(best.get()).then_some(best.get())
}

/// A NaN or `+inf` logit (its token id), which no sampler can draw from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidLogit(pub usize);

/// [`gather_live`] for samplers: the same pass also looks for NaN and
/// `+inf`, so checking the row costs nothing extra.
pub fn gather_live_checked(logits: &[f32], out: &mut Vec<(f32, u32)>) -> Result<Option<f32>, InvalidLogit> {
    out.clear();
    let mut max = f32::NEG_INFINITY;
    let mut blocks = logits.chunks_exact(BLOCK);
    let mut base = 0;
    let mut visit = |start: usize, block: &[f32]| -> Result<(), InvalidLogit> {
        for (j, &l) in block.iter().enumerate() {
            if l.is_nan() || l == f32::INFINITY {
                return Err(InvalidLogit(start + j));
            }
            if is_live(l) {
                out.push((l, (start + j) as u32));
                max = if l > max { l } else { max };
            }
        }
        Ok(())
    };
    for block in &mut blocks {
        let fixed: &[f32; BLOCK] = block.try_into().expect("chunks_exact yields BLOCK entries");
        if any_above(fixed, f32::NEG_INFINITY) | any_invalid(fixed) {
            visit(base, block)?;
        }
        base += BLOCK;
    }
    visit(base, blocks.remainder())?;
    Ok(is_live(max).then_some(max))
}

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
    let mut blocks = logits.chunks_exact(BLOCK);
    let mut base = 0;
    for block in &mut blocks {
        let fixed: &[f32; BLOCK] = block.try_into().expect("chunks_exact yields BLOCK entries");
        if any_above(fixed, best.0) | any_invalid(fixed) {
            scan(base, block, &mut best)?;
        }
        base += BLOCK;
    }
    scan(base, blocks.remainder(), &mut best)?;
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
    let (mut z, mut weighted) = (0.0f64, 0.0f64);
    for_each_above(logits, || f32::NEG_INFINITY, |_, l| {
        let shifted = l - max;
        let e = libm::expf(shifted) as f64;
        z += e;
        weighted += e * shifted as f64;
    });
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

/// An `f32` ordered by `total_cmp`, so it can live in a `BinaryHeap`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Key(f32);
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Finds the k-th largest live logit with a bounded min-heap.
///
/// One pass that skips every 16-entry block with nothing above the current
/// k-th best, which after the first few hundred entries is almost every
/// block, so this beats `select_nth_unstable` (which moves every element)
/// several times over. The heap is kept between steps so it allocates once.
#[derive(Debug, Default)]
pub struct KthLargest {
    heap: BinaryHeap<Reverse<Key>>,
}

impl KthLargest {
    /// The k-th largest live value (`k >= 1`), or `None` when fewer than
    /// `k` entries are live (then every live entry is among the top k).
    pub fn find(&mut self, logits: &[f32], k: usize) -> Option<f32> {
        debug_assert!(k >= 1);
        self.heap.clear();
        // `floor` is the k-th best so far once k values are in; a block
        // entirely at or below it cannot change the answer.
        let floor = std::cell::Cell::new(f32::NEG_INFINITY);
        let heap = &mut self.heap;
        for_each_above(
            logits,
            || floor.get(),
            |_, l| {
                if heap.len() < k {
                    heap.push(Reverse(Key(l)));
                    if heap.len() == k {
                        floor.set(heap.peek().map_or(f32::NEG_INFINITY, |r| r.0 .0));
                    }
                } else if l > floor.get() {
                    // Replace the smallest in place: one sift instead of pop + push.
                    if let Some(mut smallest) = heap.peek_mut() {
                        *smallest = Reverse(Key(l));
                    }
                    floor.set(heap.peek().map_or(f32::NEG_INFINITY, |r| r.0 .0));
                }
            },
        );
        (self.heap.len() == k).then_some(floor.get())
    }
}

/// Sets every entry below `threshold` to `-inf`.
pub fn mask_below(logits: &mut [f32], threshold: f32) {
    // An unconditional store of a select vectorises; a conditional store does not.
    for l in logits.iter_mut() {
        *l = if *l < threshold { f32::NEG_INFINITY } else { *l };
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
    for_each_above(logits, || f32::NEG_INFINITY, |i, l| {
        if l >= floor {
            scratch.push((l, i as u32));
        }
    });
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
