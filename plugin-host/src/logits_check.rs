//! The NaN / all-masked check run after every stage.
//!
//! Written as one branch-free pass over fixed-width lanes of `f32`
//! accumulators (the running maximum, which a NaN never raises since it
//! compares greater than nothing, and a count that only a NaN raises), which
//! the compiler turns into vector compares, maxima and adds: at a 50k
//! vocabulary it costs about 9 µs here, cheap enough to run after every
//! stage by default. Boolean lanes (`nan |= x.is_nan()`) were half as fast:
//! LLVM vectorised them poorly. The slow search for what exactly is wrong
//! only runs once something is.

const LANES: usize = 8;

/// `Err` with a description when `logits` contain a NaN or no token is
/// above `-inf`.
pub fn check_logits(logits: &[f32]) -> Result<(), String> {
    let mut highest = [f32::NEG_INFINITY; LANES];
    let mut nans = [0.0f32; LANES];
    let chunks = logits.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for lane in 0..LANES {
            let x = chunk[lane];
            highest[lane] = if x > highest[lane] { x } else { highest[lane] };
            #[allow(clippy::eq_op)] // x != x: true exactly for NaN, and vectorises
            let is_nan = x != x;
            nans[lane] += if is_nan { 1.0 } else { 0.0 };
        }
    }
    for &x in rest {
        highest[0] = if x > highest[0] { x } else { highest[0] };
        nans[0] += if x.is_nan() { 1.0 } else { 0.0 };
    }
    let nan = nans.iter().any(|&n| n != 0.0);
    let live = highest.iter().any(|&h| h > f32::NEG_INFINITY);
    if nan {
        let first = logits.iter().position(|x| x.is_nan()).unwrap_or(0);
        let count = logits.iter().filter(|x| x.is_nan()).count();
        return Err(format!("{count} NaN logit(s), first at token {first}"));
    }
    if !live {
        return Err(format!("every one of the {} tokens is masked (-inf), nothing can be sampled", logits.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rows_with_one_live_token() {
        let mut row = vec![f32::NEG_INFINITY; 10];
        row[7] = -3.0;
        assert_eq!(check_logits(&row), Ok(()));
    }

    #[test]
    fn names_the_first_nan_and_counts_them() {
        let mut row = vec![0.5; 10];
        row[4] = f32::NAN;
        row[8] = f32::NAN;
        assert_eq!(check_logits(&row), Err("2 NaN logit(s), first at token 4".into()));
    }

    #[test]
    fn finds_problems_in_the_remainder_after_the_last_full_lane_group() {
        let mut row = vec![f32::NEG_INFINITY; LANES * 2 + 3];
        assert!(check_logits(&row).is_err());
        row[LANES * 2 + 2] = 0.0;
        assert_eq!(check_logits(&row), Ok(()));
        row[LANES * 2 + 1] = f32::NAN;
        assert_eq!(check_logits(&row), Err(format!("1 NaN logit(s), first at token {}", LANES * 2 + 1)));
    }

    #[test]
    fn refuses_a_fully_masked_row() {
        let row = vec![f32::NEG_INFINITY; 3];
        assert_eq!(
            check_logits(&row),
            Err("every one of the 3 tokens is masked (-inf), nothing can be sampled".into())
        );
    }
}
