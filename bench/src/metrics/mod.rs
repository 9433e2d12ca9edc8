//! Degeneration metrics of one generation. Each submodule documents its
//! convention and is tested against hand-computed values.

pub mod entropy;
pub mod lines;
pub mod loops;
pub mod ngrams;

use serde::{Deserialize, Serialize};

pub use entropy::SpikeSettings;
pub use loops::{LoopRule, TailLoop};

/// The rules that turn raw sequences into collapse judgements; a suite may
/// override them (`[metrics]` table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricRules {
    pub loops: LoopRule,
    pub spikes: SpikeSettings,
}

/// Everything measured on a continuation without compiling it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Degeneration {
    /// seq-rep-n for n = 1..4 over tokens (fraction).
    pub seq_rep: [f64; 4],
    /// SimCTG rep-n for n = 2..4 over words (percent).
    pub simctg_rep: [f64; 3],
    pub simctg_diversity: f64,
    /// distinct-n for n = 1..4 over tokens.
    pub distinct: [f64; 4],
    pub rep_line: f64,
    pub longest_line: usize,
    /// The tail loop over tokens, when there is one.
    pub tail_loop: Option<TailLoop>,
    pub entropy_mean: Option<f64>,
    pub entropy_max: Option<f64>,
    /// First entropy spike (token position in the continuation).
    pub entropy_spike_at: Option<usize>,
}

impl Degeneration {
    /// Collapse onset: the token position from which the rest is a loop.
    pub fn loop_onset(&self) -> Option<usize> {
        self.tail_loop.map(|l| l.start)
    }
}

/// Measures a continuation given as tokens, its text and per-token entropy.
pub fn measure(tokens: &[u32], text: &str, entropy: &[f32], rules: &MetricRules) -> Degeneration {
    let entropy_summary = entropy::mean_and_max(entropy);
    Degeneration {
        seq_rep: std::array::from_fn(|i| ngrams::seq_rep_n(tokens, i + 1)),
        simctg_rep: std::array::from_fn(|i| ngrams::simctg_rep_n(text, i + 2)),
        simctg_diversity: ngrams::simctg_diversity(text),
        distinct: std::array::from_fn(|i| ngrams::distinct_n(tokens, i + 1)),
        rep_line: lines::rep_line(text),
        longest_line: lines::longest_line(text),
        tail_loop: loops::detect_tail_loop(tokens, &rules.loops),
        entropy_mean: entropy_summary.map(|s| s.0),
        entropy_max: entropy_summary.map(|s| s.1),
        entropy_spike_at: entropy::first_spike(entropy, &rules.spikes),
    }
}
