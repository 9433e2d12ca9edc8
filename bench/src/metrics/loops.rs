//! Tail-loop detection: is the end of a generation one unit repeated?
//!
//! For every candidate period `p` we walk back from the end while
//! `x[i] == x[i + p]`; the stretch this covers plus one unit is the longest
//! suffix with period `p`, possibly ending in a partial unit (generation
//! stops wherever the token budget runs out). The period whose stretch of
//! matches is longest wins; ties go to the smaller period, so `.S.S.S` is
//! period 2, not 4. (Comparing whole suffixes instead would let any long
//! period win: every suffix of length `p` is trivially "periodic" with
//! period `p`.) This is `O(n * max_period)`, a few hundred thousand comparisons for
//! a 512-token generation.
//!
//! Holtzman et al. flag a loop only when the repeated span is long, which for
//! a period-2 loop like `.S.S.S` means some 60 repeats. We instead report a
//! loop when the tail holds at least [`LoopRule::min_repeats`] full units
//! (default 10, catching `.S` x10 after 20 tokens), or, for long units such
//! as a repeated statement, at least [`LoopRule::min_long_repeats`] units
//! spanning [`LoopRule::min_long_tokens`] tokens.

use serde::{Deserialize, Serialize};

/// When a periodic tail counts as a loop.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoopRule {
    /// Full repeats that make any periodic tail a loop.
    pub min_repeats: usize,
    /// Fewer repeats suffice when the looping span is long...
    pub min_long_repeats: usize,
    /// ...at least this many tokens.
    pub min_long_tokens: usize,
    /// Longest unit considered.
    pub max_period: usize,
}

impl Default for LoopRule {
    fn default() -> Self {
        LoopRule { min_repeats: 10, min_long_repeats: 3, min_long_tokens: 48, max_period: 256 }
    }
}

/// The periodic tail of a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    for period in 1..=max_period.min(n / 2) {
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

/// The tail loop of `items` if [`LoopRule`] calls it one.
pub fn detect_tail_loop<T: PartialEq>(items: &[T], rule: &LoopRule) -> Option<TailLoop> {
    let tail = longest_periodic_tail(items, rule.max_period)?;
    let span = items.len() - tail.start;
    let is_loop = tail.repeats >= rule.min_repeats
        || (tail.repeats >= rule.min_long_repeats && span >= rule.min_long_tokens);
    is_loop.then_some(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn catches_short_period_loop_at_ten_repeats() {
        let rule = LoopRule::default();
        let prefix = "int x = compute(a, b);\n";
        let ten = format!("{prefix}{}", ".S".repeat(10));
        let found = detect_tail_loop(&chars(&ten), &rule).expect("10 repeats of .S is a loop");
        assert_eq!(found, TailLoop { period: 2, repeats: 10, start: prefix.len() });
        let nine = format!("{prefix}{}", ".S".repeat(9));
        assert_eq!(detect_tail_loop(&chars(&nine), &rule), None);
    }

    #[test]
    fn partial_last_unit_still_counts_and_start_is_exact() {
        // "ab" + "xyz" x4 + "xy": the loop starts at 2, 4 full repeats.
        let s = chars("abxyzxyzxyzxyzxy");
        let tail = longest_periodic_tail(&s, 8).unwrap();
        assert_eq!(tail, TailLoop { period: 3, repeats: 4, start: 2 });
        let rule = LoopRule { min_repeats: 4, ..LoopRule::default() };
        assert_eq!(detect_tail_loop(&s, &rule), Some(tail));
    }

    #[test]
    fn long_unit_needs_fewer_repeats() {
        let unit: Vec<u32> = (0..20).collect();
        let mut seq: Vec<u32> = vec![100, 101, 102];
        for _ in 0..3 {
            seq.extend(&unit);
        }
        let found = detect_tail_loop(&seq, &LoopRule::default()).unwrap();
        assert_eq!(found, TailLoop { period: 20, repeats: 3, start: 3 });
        // Two repeats of a 20-token unit is a coincidence, not a loop.
        assert_eq!(detect_tail_loop(&seq[20..], &LoopRule::default()), None);
    }

    #[test]
    fn varied_text_has_no_loop() {
        let s = chars("public int size() { return count; }\n");
        assert_eq!(detect_tail_loop(&s, &LoopRule::default()), None);
        assert_eq!(longest_periodic_tail(&chars("a"), 10), None);
        assert_eq!(longest_periodic_tail(&chars("abcd"), 10), None);
    }
}
