//! The NaN / all-masked check run after every stage.
//!
//! Written as one branch-free pass (a running maximum and a NaN flag) so it
//! vectorises: at a 50k vocabulary it costs a few microseconds, cheap
//! enough to run after every stage by default.

/// `Err` with a description when `logits` contain a NaN or no token is
/// above `-inf`.
pub fn check_logits(logits: &[f32]) -> Result<(), String> {
    let mut max = f32::NEG_INFINITY;
    let mut any_nan = false;
    for &x in logits {
        any_nan |= x.is_nan();
        max = max.max(x);
    }
    if any_nan {
        let first = logits.iter().position(|x| x.is_nan()).unwrap_or(0);
        let count = logits.iter().filter(|x| x.is_nan()).count();
        return Err(format!("{count} NaN logit(s), first at token {first}"));
    }
    if max == f32::NEG_INFINITY {
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
    fn refuses_a_fully_masked_row() {
        let row = vec![f32::NEG_INFINITY; 3];
        assert_eq!(
            check_logits(&row),
            Err("every one of the 3 tokens is masked (-inf), nothing can be sampled".into())
        );
    }
}
