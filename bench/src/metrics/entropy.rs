//! Entropy summaries and the entropy-spike onset.
//!
//! Spikes are found by `logitloom_plot::spikes` (shared with
//! `plot-entropy`, so a spike in the report is a spike in the trace plot):
//! a value counts when it exceeds the sequence's own running level — the
//! mean of the preceding `window` values — by more than `k` standard
//! deviations and at least `min_rise` nats. A fixed absolute threshold would
//! flag ordinary code, whose entropy legitimately drifts between writing a
//! signature and inventing a name.

use logitloom_plot::spikes::{self, SpikeRule};
use serde::{Deserialize, Serialize};

/// The suite's `[metrics.spikes]` table: the parameters of the relative
/// [`SpikeRule`], with its defaults.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpikeSettings {
    /// Standard deviations above the running mean.
    pub k: f64,
    /// Nats above the running mean, at least.
    pub min_rise: f64,
    /// Values in the running level.
    pub window: usize,
    /// Positions before the first one that may spike.
    pub warmup: usize,
}

impl Default for SpikeSettings {
    fn default() -> Self {
        match SpikeRule::default() {
            SpikeRule::Relative { k, window, warmup, min_rise } => SpikeSettings { k, min_rise, window, warmup },
            SpikeRule::Absolute { .. } => unreachable!("the default spike rule is relative"),
        }
    }
}

impl SpikeSettings {
    pub fn rule(&self) -> SpikeRule {
        SpikeRule::Relative { k: self.k, window: self.window, warmup: self.warmup, min_rise: self.min_rise }
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

/// First position whose entropy spikes above the running level.
pub fn first_spike(entropy: &[f32], settings: &SpikeSettings) -> Option<usize> {
    let values: Vec<f64> = entropy.iter().map(|&h| h as f64).collect();
    spikes::find(&values, &settings.rule()).first().map(|s| s.index)
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
    fn first_spike_is_relative_to_running_level() {
        let settings = SpikeSettings { k: 2.0, min_rise: 1.0, window: 4, warmup: 2 };
        // Before index 4: mean 3, sd 0 -> threshold 3 + max(0, 1) = 4; 3.9 is no spike.
        // Before index 6: values 3, 3, 3.9, 3 -> mean 3.225, sd = sqrt(0.151875) = 0.3897;
        // threshold 3.225 + max(0.779, 1) = 4.225; 4.5 spikes.
        let h = [3.0, 3.0, 3.0, 3.0, 3.9, 3.0, 4.5, 0.1];
        assert_eq!(first_spike(&h, &settings), Some(6));
        // A high but steady level never spikes.
        assert_eq!(first_spike(&[6.0; 20], &settings), None);
        // Within the warm-up nothing counts.
        assert_eq!(first_spike(&[0.0, 9.0, 0.0], &settings), None);
    }
}
