//! The exponential every softmax-like computation of the project uses.

/// `e^x` for `x <= 88`, within 2 ulp of the true value; exactly `0` below
/// `-87` (where `e^x < 2^-125`, far under anything a sum of weights whose
/// largest is 1 can register) and for `-inf`.
///
/// Every caller exponentiates `logit - max`, once per live token, so this is
/// the inner loop of softmax, top-p, min-p and multinomial. `libm::expf`
/// (which we used before) is accurate to half an ulp but branchy and out of
/// line: 6 ns a call natively, worse in WASM. This is the classic Cephes
/// scheme: `x = n ln2 + r` with `n` rounded by the `1.5 * 2^23` trick and
/// `ln 2` split in two so `n * LN2_HI` is exact, a degree-6 polynomial
/// for `e^r` on `|r| <= ln2/2`, and `2^n` built from its exponent bits.
/// Only `+ - *`, compares and integer conversions, no FMA: IEEE fixes
/// every result bit, so native and WASM builds agree exactly.
// The Cephes constants are written as published (more digits than an f32
// holds, and LOG2E not spelled as `std::f32::consts::LOG2_E`) so they can
// be checked against the source; they round to the same f32 bits.
#[allow(clippy::excessive_precision, clippy::approx_constant)]
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = 1.442_695_04;
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_375;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const FLOOR: f32 = -87.0;
    let underflows = x < FLOOR;
    let x = if underflows { FLOOR } else { x };
    // `t = ROUND + n` exactly, so `n` can be read both as a float and from
    // t's low mantissa bits, which vectorises (a float-to-int cast does not).
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let n_int = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    let e_r = p * (r * r) + r + 1.0;
    let two_to_n = f32::from_bits((n_int.wrapping_add(127) as u32) << 23);
    if underflows {
        0.0
    } else {
        e_r * two_to_n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_two_ulp_of_libm_and_exactly_zero_far_below() {
        let mut worst = 0f64;
        // Every 97th f32 bit pattern from -87 up to 0, and some above 0.
        // (Negative floats' bit patterns run from -0.0 upwards in magnitude.)
        let (lo, hi) = ((-87.0f32).to_bits(), (-0.0f32).to_bits());
        for bits in (hi..=lo).step_by(97) {
            let x = f32::from_bits(bits);
            let (ours, exact) = (exp(x) as f64, libm::exp(x as f64));
            worst = worst.max(((ours - exact) / exact).abs());
        }
        for x in [0.5f32, 1.0, 10.0, 88.0] {
            let (ours, exact) = (exp(x) as f64, libm::exp(x as f64));
            worst = worst.max(((ours - exact) / exact).abs());
        }
        // 2 ulp of an f32 is at most 2 * 2^-23 relative.
        assert!(worst < 2.0 * f32::EPSILON as f64, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-87.5), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
    }
}
