//! Periodic tails: is the end of a sequence one unit repeated?
//!
//! Shared by the `loop_breaker` stage, which acts on a loop as it forms,
//! and the collapse benchmark's tail-loop metric, which reports one
//! afterwards: one definition of "the tail repeats", so the stage is judged
//! by the measure it was built against.
//!
//! For every candidate period `p` we walk back from the end while
//! `x[i] == x[i + p]`; the stretch this covers plus one unit is the longest
//! suffix with period `p`, possibly ending in a partial unit. The period
//! whose stretch of matches is longest wins; ties go to the smaller period,
//! so `.S.S.S` is period 2, not 4. (Comparing whole suffixes instead would
//! let any long period win: every suffix of length `p` is trivially
//! "periodic" with period `p`.) `O(n * max_period)`.
//!
//! A period may exceed half the sequence: the second copy is then still
//! being written. A generation that restarts itself (a 49-token unit
//! repeated from its first token) must be visible once a few tokens of the
//! second copy match, not only when that copy is complete, or a loop
//! breaker sees it one whole unit too late.

/// The periodic tail of a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TailLoop {
    /// Length of the repeated unit.
    pub period: usize,
    /// Full repeats of the unit in the tail.
    pub repeats: usize,
    /// First position of the periodic tail: from here on the rest is the loop.
    pub start: usize,
}

/// The longest periodic tail of `items` (smallest period on ties), whether
/// or not it is long enough to be a loop. `None` when no period repeats
/// even one item.
pub fn longest_periodic_tail<T: PartialEq>(items: &[T], max_period: usize) -> Option<TailLoop> {
    let n = items.len();
    let mut best: Option<(usize, TailLoop)> = None;
    for period in 1..=max_period.min(n.saturating_sub(1)) {
        // Walk back over positions i with items[i] == items[i + period].
        let mut i = n - period;
        while i > 0 && items[i - 1] == items[i - 1 + period] {
            i -= 1;
        }
        let matches = n - period - i;
        if matches > 0 && best.is_none_or(|(m, _)| matches > m) {
            best = Some((matches, TailLoop { period, repeats: (n - i) / period, start: i }));
        }
    }
    best.map(|(_, tail)| tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn partial_last_unit_still_counts_and_start_is_exact() {
        // "ab" + "xyz" x4 + "xy": the loop starts at 2, 4 full repeats.
        let s = chars("abxyzxyzxyzxyzxy");
        assert_eq!(longest_periodic_tail(&s, 8), Some(TailLoop { period: 3, repeats: 4, start: 2 }));
    }

    #[test]
    fn ties_go_to_the_smaller_period_and_short_text_has_none() {
        let s = chars("q.S.S.S.S");
        assert_eq!(longest_periodic_tail(&s, 8), Some(TailLoop { period: 2, repeats: 4, start: 1 }));
        assert_eq!(longest_periodic_tail(&chars("a"), 10), None);
        assert_eq!(longest_periodic_tail(&chars("abcd"), 10), None);
    }

    #[test]
    fn a_second_copy_in_progress_is_seen_before_it_is_complete() {
        // A 7-char unit from the first char, then 3 chars of its second copy.
        let s = chars("abcdefgabc");
        assert_eq!(longest_periodic_tail(&s, 64), Some(TailLoop { period: 7, repeats: 1, start: 0 }));
        // A period is only tried up to `max_period`.
        assert_eq!(longest_periodic_tail(&s, 6), None);
    }
}
