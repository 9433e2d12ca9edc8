//! Entropy spikes: the positions where the model suddenly stops knowing
//! what comes next.
//!
//! Code has a drifting baseline (a method signature is predictable, a fresh
//! identifier is not), so by default a spike is judged against the
//! sequence's own recent past: the mean and standard deviation of the
//! `window` preceding values. A value is a spike when it exceeds that mean
//! by more than `k` standard deviations *and* by at least `min_rise` nats
//! (without the floor, a flat near-zero stretch has σ ≈ 0 and any wobble
//! would count). An absolute threshold is also offered.

/// When a value counts as a spike.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SpikeRule {
    Relative {
        k: f64,
        window: usize,
        /// Values at indices below this are never spikes (no level yet).
        warmup: usize,
        min_rise: f64,
    },
    Absolute {
        threshold: f64,
    },
}

impl Default for SpikeRule {
    fn default() -> Self {
        SpikeRule::Relative { k: 2.5, window: 32, warmup: 8, min_rise: 1.0 }
    }
}

impl SpikeRule {
    /// The level a value at `index` must exceed, `None` during warm-up.
    pub fn threshold_at(&self, values: &[f64], index: usize) -> Option<f64> {
        match *self {
            SpikeRule::Absolute { threshold } => Some(threshold),
            SpikeRule::Relative { k, window, warmup, min_rise } => {
                if index < warmup.max(1) {
                    return None;
                }
                let past = &values[index.saturating_sub(window.max(1))..index];
                let n = past.len() as f64;
                let mean = past.iter().sum::<f64>() / n;
                let var = past.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                Some(mean + (k * var.sqrt()).max(min_rise))
            }
        }
    }

    /// One line for a figure's legend or a log.
    pub fn describe(&self) -> String {
        match *self {
            SpikeRule::Absolute { threshold } => format!("entropy > {threshold} nats"),
            SpikeRule::Relative { k, window, min_rise, .. } => {
                format!("entropy > mean + max({k}σ, {min_rise} nats) of the previous {window} tokens")
            }
        }
    }
}

/// A flagged value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spike {
    /// Index into the values.
    pub index: usize,
    /// How far above its threshold it went (nats); ranks spikes.
    pub excess: f64,
}

/// Every spike of `values`, in index order.
pub fn find(values: &[f64], rule: &SpikeRule) -> Vec<Spike> {
    (0..values.len())
        .filter_map(|i| {
            let threshold = rule.threshold_at(values, i)?;
            (values[i] > threshold).then(|| Spike { index: i, excess: values[i] - threshold })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_planted_spike_against_the_running_level() {
        // 20 values alternating 1.0 / 1.2 (mean 1.1, σ 0.1), then 4.0, then back.
        let mut v: Vec<f64> = (0..20).map(|i| if i % 2 == 0 { 1.0 } else { 1.2 }).collect();
        v.push(4.0);
        v.extend([1.0, 1.2, 1.0]);
        let spikes = find(&v, &SpikeRule::default());
        // Threshold at 20: 1.1 + max(2.5 * 0.1, 1.0) = 2.1; 4.0 exceeds it by 1.9.
        assert_eq!(spikes.len(), 1);
        assert_eq!(spikes[0].index, 20);
        assert!((spikes[0].excess - 1.9).abs() < 1e-9);
    }

    #[test]
    fn a_steady_high_level_is_no_spike_but_an_absolute_threshold_catches_it() {
        let v = vec![5.0; 30];
        assert!(find(&v, &SpikeRule::default()).is_empty());
        assert_eq!(find(&v, &SpikeRule::Absolute { threshold: 4.0 }).len(), 30);
    }

    #[test]
    fn warmup_values_are_never_spikes() {
        let v = [0.0, 9.0, 0.0, 0.0];
        assert!(find(&v, &SpikeRule::default()).is_empty());
    }
}
