//! The project's random generators.
//!
//! xoshiro256** (Blackman & Vigna) for anything that samples, seeded
//! through splitmix64 as its authors recommend; splitmix64 alone where a
//! tiny generator is enough (data-loader window starts, test inputs). They
//! are written out here rather than taken from `rand` so that a seed means
//! the same sequence on every platform and every version.

/// One splitmix64 step; also what expands a 64-bit seed into 256 bits of state.
#[inline]
pub const fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    crate::mix64(*state)
}

/// SplitMix64 (Steele, Lea, Flood 2014) as a generator: tiny, fast, and
/// good enough for picking window starts and making test inputs.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        splitmix64(&mut self.0)
    }

    /// Uniform in `0..n` by rejection, so no value is likelier than another.
    pub fn below(&mut self, n: u64) -> u64 {
        below(n, || self.next_u64())
    }

    /// Uniform in `[0, 1)` with 24 random bits (every value exact in `f32`).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        unit_f64(self.next_u64())
    }
}

/// A xoshiro256** generator.
#[derive(Clone, Debug)]
pub struct Rng {
    state: [u64; 4],
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

    #[inline]
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
        unit_f64(self.next_u64())
    }

    /// Uniform in `0..n` by rejection.
    pub fn below(&mut self, n: u64) -> u64 {
        below(n, || self.next_u64())
    }
}

fn unit_f64(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn below(n: u64, mut next: impl FnMut() -> u64) -> u64 {
    assert!(n > 0, "below(0) has no value to return");
    // The largest multiple of n that fits: values at or past it would make
    // the low residues likelier.
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let x = next();
        if x < zone {
            return x % n;
        }
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
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
        // xoshiro256starstar.c with state {1, 2, 3, 4} (the vector rand_xoshiro checks too).
        let mut rng = Rng::from_state([1, 2, 3, 4]);
        let got: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        assert_eq!(got, [11520, 0, 1509978240, 1215971899390074240]);
    }

    #[test]
    fn unit_floats_stay_in_range() {
        let mut rng = Rng::from_seed(7);
        let mut small = SplitMix64::new(7);
        for _ in 0..10_000 {
            assert!((0.0..1.0).contains(&rng.next_f64()));
            assert!((0.0..1.0).contains(&small.next_f32()));
            assert!((0.0..1.0).contains(&small.next_f64()));
        }
    }

    #[test]
    fn below_covers_the_range_and_stays_inside() {
        let mut rng = SplitMix64::new(3);
        let mut seen = [0usize; 7];
        for _ in 0..7_000 {
            seen[rng.below(7) as usize] += 1;
        }
        // Each residue should get about 1,000; a biased or off-by-one
        // reduction would starve one of them.
        assert!(seen.iter().all(|&n| (850..1150).contains(&n)), "{seen:?}");
        assert_eq!(Rng::from_seed(1).below(1), 0);
    }
}
