//! The NaN / all-masked check run after every stage.
//!
//! Written as one branch-free pass over fixed-width lanes of boolean flags
//! (is any lane NaN, is any lane above `-inf`), which the compiler turns
//! into vector compares: at a 50k vocabulary it costs microseconds, cheap
//! enough to run after every stage by default. The slow search for what
//! exactly is wrong only runs once something is.

const LANES: usize = 16;

/// `Err` with a description when `logits` contain a NaN or no token is
/// above `-inf`.
pub fn check_logits(logits: &[f32]) -> Result<(), String> {
    let mut nan = [false; LANES];
    let mut live = [false; LANES];
    let chunks = logits.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for lane in 0..LANES {
            nan[lane] |= chunk[lane].is_nan();
            live[lane] |= chunk[lane] > f32::NEG_INFINITY;
        }
    }
    for &x in rest {
        nan[0] |= x.is_nan();
        live[0] |= x > f32::NEG_INFINITY;
    }
    if nan.contains(&true) {
        let first = logits.iter().position(|x| x.is_nan()).unwrap_or(0);
        let count = logits.iter().filter(|x| x.is_nan()).count();
        return Err(format!("{count} NaN logit(s), first at token {first}"));
    }
    if !live.contains(&true) {
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
