//! The block tests, written with explicit vector compares.
//!
//! Written as plain folds these vectorised in isolation but not once inlined
//! into the argmax loop (the compiler fell back to one scalar compare per
//! entry, 0.7 ns each: 35 µs a row at 50k). Explicit 4-lane compares are
//! baseline on both targets we ship (SSE2 on x86-64, `simd128` in WASM, see
//! `.cargo/config.toml`), and a predicate has no rounding, so the exact
//! scalar work that follows a hit is unchanged and results stay the same bits.
//!
//! Each function has three bodies, one per target: SSE2 on x86-64, `simd128`
//! in WASM, and a portable fold elsewhere.

use super::BLOCK;

/// `true` when some entry is `> floor`, or (with `invalid_too`) is NaN
/// or `+inf`. With `invalid_too` one compare does both: `!(x <= floor)`
/// holds exactly for `x > floor` and NaN, and `+inf > floor` for any
/// floor below `+inf` (the callers' floors are a live logit or `-inf`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn any_above(block: &[f32; BLOCK], floor: f32, invalid_too: bool) -> bool {
    use std::arch::x86_64::*;
    debug_assert!(floor < f32::INFINITY);
    // SAFETY: SSE2 is part of the x86-64 baseline; the four unaligned
    // loads read exactly the 16 entries of `block`.
    unsafe {
        let floor = _mm_set1_ps(floor);
        let p = block.as_ptr();
        let mut hit = _mm_setzero_ps();
        for quarter in 0..4 {
            let x = _mm_loadu_ps(p.add(4 * quarter));
            hit = _mm_or_ps(hit, if invalid_too { _mm_cmpnle_ps(x, floor) } else { _mm_cmpgt_ps(x, floor) });
        }
        _mm_movemask_ps(hit) != 0
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub fn any_above(block: &[f32; BLOCK], floor: f32, invalid_too: bool) -> bool {
    use std::arch::wasm32::*;
    debug_assert!(floor < f32::INFINITY);
    let floor = f32x4_splat(floor);
    let load = |quarter: usize| {
        // SAFETY: WASM loads need no alignment; this reads entries
        // 4q..4q+4 of `block`.
        unsafe { v128_load(block.as_ptr().add(4 * quarter).cast::<v128>()) }
    };
    if invalid_too {
        // "Not every entry is <= floor": an `and` chain and one
        // all-true test, the shortest sequence wasmtime compiles well.
        let mut all_below = f32x4_le(load(0), floor);
        for quarter in 1..4 {
            all_below = v128_and(all_below, f32x4_le(load(quarter), floor));
        }
        !i32x4_all_true(all_below)
    } else {
        let mut hit = f32x4_gt(load(0), floor);
        for quarter in 1..4 {
            hit = v128_or(hit, f32x4_gt(load(quarter), floor));
        }
        v128_any_true(hit)
    }
}

/// Sets every entry `< threshold` to `-inf` (NaN is kept: it is not
/// `<` anything), as a compare and a select per four entries.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn mask_below(block: &mut [f32; BLOCK], threshold: f32) {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is x86-64 baseline; loads and stores stay inside `block`.
    unsafe {
        let threshold = _mm_set1_ps(threshold);
        let removed = _mm_set1_ps(f32::NEG_INFINITY);
        let p = block.as_mut_ptr();
        for quarter in 0..4 {
            let x = _mm_loadu_ps(p.add(4 * quarter));
            let below = _mm_cmplt_ps(x, threshold);
            _mm_storeu_ps(p.add(4 * quarter), _mm_or_ps(_mm_and_ps(below, removed), _mm_andnot_ps(below, x)));
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub fn mask_below(block: &mut [f32; BLOCK], threshold: f32) {
    use std::arch::wasm32::*;
    let threshold = f32x4_splat(threshold);
    let removed = f32x4_splat(f32::NEG_INFINITY);
    let p = block.as_mut_ptr().cast::<v128>();
    for quarter in 0..4 {
        // SAFETY: unaligned WASM loads/stores of entries 4q..4q+4 of `block`.
        unsafe {
            let x = v128_load(p.add(quarter));
            v128_store(p.add(quarter), v128_bitselect(removed, x, f32x4_lt(x, threshold)));
        }
    }
}

/// Divides every entry by `divisor` (IEEE division, so the same bits as
/// the scalar `x / divisor`), four independent vector divisions per
/// block: wasmtime checks the epoch deadline once per loop iteration,
/// so a 4-entry loop spent as much on that as on dividing.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn divide(block: &mut [f32; BLOCK], divisor: f32) {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is x86-64 baseline; loads and stores stay inside `block`.
    unsafe {
        let divisor = _mm_set1_ps(divisor);
        let p = block.as_mut_ptr();
        for quarter in 0..4 {
            _mm_storeu_ps(p.add(4 * quarter), _mm_div_ps(_mm_loadu_ps(p.add(4 * quarter)), divisor));
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub fn divide(block: &mut [f32; BLOCK], divisor: f32) {
    use std::arch::wasm32::*;
    let divisor = f32x4_splat(divisor);
    let p = block.as_mut_ptr().cast::<v128>();
    // SAFETY: unaligned WASM loads/stores of entries 4q..4q+4 of `block`.
    unsafe {
        let (a, b, c, d) = (v128_load(p), v128_load(p.add(1)), v128_load(p.add(2)), v128_load(p.add(3)));
        v128_store(p, f32x4_div(a, divisor));
        v128_store(p.add(1), f32x4_div(b, divisor));
        v128_store(p.add(2), f32x4_div(c, divisor));
        v128_store(p.add(3), f32x4_div(d, divisor));
    }
}

#[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
#[inline(always)]
pub fn divide(block: &mut [f32; BLOCK], divisor: f32) {
    for l in block.iter_mut() {
        *l /= divisor;
    }
}

/// min-p's cut over one block: every entry with `x < keep_floor` and
/// `x - max < lo` becomes `-inf`. Returns whether some entry with
/// `x < keep_floor` has `lo <= x - max <= hi`, the band the caller
/// decides exactly. `x - max` is the same IEEE subtraction as the
/// scalar rule's, so the decisions are the same bits; NaN compares
/// false everywhere and is left alone.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn cut_below_band(block: &mut [f32; BLOCK], max: f32, keep_floor: f32, lo: f32, hi: f32) -> bool {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is x86-64 baseline; loads and stores stay inside `block`.
    unsafe {
        let (max, keep_floor, lo, hi) = (_mm_set1_ps(max), _mm_set1_ps(keep_floor), _mm_set1_ps(lo), _mm_set1_ps(hi));
        let removed = _mm_set1_ps(f32::NEG_INFINITY);
        let p = block.as_mut_ptr();
        let mut band = _mm_setzero_ps();
        for quarter in 0..4 {
            let x = _mm_loadu_ps(p.add(4 * quarter));
            let d = _mm_sub_ps(x, max);
            let candidate = _mm_cmplt_ps(x, keep_floor);
            let cut = _mm_and_ps(candidate, _mm_cmplt_ps(d, lo));
            band = _mm_or_ps(band, _mm_and_ps(candidate, _mm_and_ps(_mm_cmpge_ps(d, lo), _mm_cmple_ps(d, hi))));
            _mm_storeu_ps(p.add(4 * quarter), _mm_or_ps(_mm_and_ps(cut, removed), _mm_andnot_ps(cut, x)));
        }
        _mm_movemask_ps(band) != 0
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub fn cut_below_band(block: &mut [f32; BLOCK], max: f32, keep_floor: f32, lo: f32, hi: f32) -> bool {
    use std::arch::wasm32::*;
    let (max, keep_floor, lo, hi) = (f32x4_splat(max), f32x4_splat(keep_floor), f32x4_splat(lo), f32x4_splat(hi));
    let removed = f32x4_splat(f32::NEG_INFINITY);
    let p = block.as_mut_ptr().cast::<v128>();
    let mut band = i32x4_splat(0);
    for quarter in 0..4 {
        // SAFETY: unaligned WASM loads/stores of entries 4q..4q+4 of `block`.
        unsafe {
            let x = v128_load(p.add(quarter));
            let d = f32x4_sub(x, max);
            let candidate = f32x4_lt(x, keep_floor);
            let cut = v128_and(candidate, f32x4_lt(d, lo));
            band = v128_or(band, v128_and(candidate, v128_and(f32x4_ge(d, lo), f32x4_le(d, hi))));
            v128_store(p.add(quarter), v128_bitselect(removed, x, cut));
        }
    }
    v128_any_true(band)
}

#[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
#[inline(always)]
pub fn cut_below_band(block: &mut [f32; BLOCK], max: f32, keep_floor: f32, lo: f32, hi: f32) -> bool {
    let mut band = false;
    for l in block.iter_mut() {
        let d = *l - max;
        if *l < keep_floor && d < lo {
            *l = f32::NEG_INFINITY;
        }
        band |= *l < keep_floor && d >= lo && d <= hi;
    }
    band
}

/// Bit `j` set when entry `j` of the block is `> floor`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn above_bits(block: &[f32; BLOCK], floor: f32) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is x86-64 baseline; the loads read exactly `block`.
    unsafe {
        let floor = _mm_set1_ps(floor);
        let p = block.as_ptr();
        let mut bits = 0u32;
        for quarter in 0..4 {
            bits |= (_mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(p.add(4 * quarter)), floor)) as u32) << (4 * quarter);
        }
        bits
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub fn above_bits(block: &[f32; BLOCK], floor: f32) -> u32 {
    use std::arch::wasm32::*;
    let floor = f32x4_splat(floor);
    let p = block.as_ptr().cast::<v128>();
    let mut bits = 0u32;
    for quarter in 0..4 {
        // SAFETY: an unaligned WASM load of entries 4q..4q+4 of `block`.
        let x = unsafe { v128_load(p.add(quarter)) };
        bits |= (i32x4_bitmask(f32x4_gt(x, floor)) as u32) << (4 * quarter);
    }
    bits
}

#[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
#[inline(always)]
pub fn above_bits(block: &[f32; BLOCK], floor: f32) -> u32 {
    block.iter().enumerate().fold(0, |bits, (j, &x)| bits | (((x > floor) as u32) << j))
}

#[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
#[inline(always)]
pub fn mask_below(block: &mut [f32; BLOCK], threshold: f32) {
    for l in block.iter_mut() {
        *l = if *l < threshold { f32::NEG_INFINITY } else { *l };
    }
}

#[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
#[inline(always)]
pub fn any_above(block: &[f32; BLOCK], floor: f32, invalid_too: bool) -> bool {
    block.iter().fold(false, |any, &x| any | if invalid_too { !(x <= floor) } else { x > floor })
}
