//! Entropy summaries and the entropy-spike onset.
//!
//! A sequence's entropy level drifts with what it is writing (a method
//! signature is predictable, a fresh identifier is not), so a fixed absolute
//! threshold would flag ordinary code. A spike is instead measured against
//! the sequence's own running level: the mean entropy of the
//! [`SpikeRule::window`] positions before it. The first few positions have no
//! level to compare against and are skipped ([`SpikeRule::warmup`]).

use serde::{Deserialize, Serialize};

/// When an entropy value counts as a spike.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpikeRule {
    /// Nats above the running level.
    pub threshold: f64,
    /// Positions in the running level.
    pub window: usize,
    /// Positions before the first one that may spike.
    pub warmup: usize,
}

impl Default for SpikeRule {
    fn default() -> Self {
        SpikeRule { threshold: 2.0, window: 32, warmup: 8 }
    }
}

/// Mean and maximum of per-position entropies; `None` when there are none.
pub fn mean_and_max(entropy: &[f32]) -> Option<(f64, f64)> {
    if entropy.is_empty() {
        return None;
    }
    let sum: f64 = entropy.iter().map(|&h| h as f64).sum();
    let max = entropy.iter().fold(f64::NEG_INFINITY, |m, &h| m.max(h as f64));
    Some((sum / entropy.len() as f64, max))
}

/// First position whose entropy exceeds the running level by the threshold.
pub fn first_spike(entropy: &[f32], rule: &SpikeRule) -> Option<usize> {
    let warmup = rule.warmup.max(1);
    (warmup..entropy.len()).find(|&i| {
        let from = i.saturating_sub(rule.window.max(1));
        let level = entropy[from..i].iter().map(|&h| h as f64).sum::<f64>() / (i - from) as f64;
        entropy[i] as f64 > level + rule.threshold
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        assert_eq!(mean_and_max(&[1.0, 2.0, 4.5]), Some((2.5, 4.5)));
        assert_eq!(mean_and_max(&[]), None);
    }

    #[test]
    fn spike_is_relative_to_running_level() {
        let rule = SpikeRule { threshold: 2.0, window: 4, warmup: 2 };
        // Level before index 4 = mean(3,3,3,3) = 3: 4.9 is no spike.
        // Level before index 6 = mean(3,3,4.9,3) = 3.475: 5.6 is a spike.
        let h = [3.0, 3.0, 3.0, 3.0, 4.9, 3.0, 5.6, 0.1];
        assert_eq!(first_spike(&h, &rule), Some(6));
        // A high but steady level never spikes.
        assert_eq!(first_spike(&[6.0; 20], &rule), None);
        // Within the warm-up nothing counts.
        assert_eq!(first_spike(&[0.0, 9.0, 0.0], &rule), None);
    }
}
