//! Tail-loop detection: is the end of a generation one unit repeated?
//!
//! The periodic tail itself is `logitloom_std_plugins::periodic`'s, the
//! same the `loop_breaker` stage acts on; this module decides when a tail
//! is long enough to call the generation collapsed.
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

pub use logitloom_std_plugins::periodic::{longest_periodic_tail, TailLoop};

/// The tail loop of `items` if [`LoopRule`] calls it one.
pub fn detect_tail_loop<T: PartialEq>(items: &[T], rule: &LoopRule) -> Option<TailLoop> {
    let tail = longest_periodic_tail(items, rule.max_period)?;
    let span = items.len() - tail.start;
    let is_loop =
        tail.repeats >= rule.min_repeats || (tail.repeats >= rule.min_long_repeats && span >= rule.min_long_tokens);
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
