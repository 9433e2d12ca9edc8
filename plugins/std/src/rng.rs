//! The one random source of every stochastic stage.
//!
//! xoshiro256** (Blackman & Vigna), seeded through splitmix64 as its authors
//! recommend. It is written out here rather than taken from `rand` so that a
//! seed means the same token sequence on every platform and every version:
//! only integer shifts, rotations and wrapping multiplies, which behave
//! identically on x86-64, aarch64 and wasm32.

/// A xoshiro256** generator.
#[derive(Clone, Debug)]
pub struct Rng {
    state: [u64; 4],
}

/// One splitmix64 step; also what expands a 64-bit seed into 256 bits of state.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// Expands `seed` with splitmix64, so that nearby seeds (0, 1, 2 …, as
    /// the host derives per sequence) still give unrelated streams.
    pub fn from_seed(seed: u64) -> Self {
        let mut sm = seed;
        Rng { state: [splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm)] }
    }

    /// Uses `state` as is (test vectors of the reference implementation).
    pub fn from_state(state: [u64; 4]) -> Self {
        Rng { state }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits: exactly representable, so
    /// no rounding can differ between platforms.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_test_vectors() {
        // splitmix64.c seeded with 0: the first output is a published constant.
        let mut s = 0u64;
        assert_eq!(splitmix64(&mut s), 0xE220_A839_7B1D_CDAF);
        // xoshiro256starstar.c with state {1, 2, 3, 4} (the vector rand_xoshiro checks too).
        let mut rng = Rng::from_state([1, 2, 3, 4]);
        let got: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        assert_eq!(got, [11520, 0, 1509978240, 1215971899390074240]);
    }

    #[test]
    fn unit_floats_stay_in_range() {
        let mut rng = Rng::from_seed(7);
        for _ in 0..10_000 {
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
