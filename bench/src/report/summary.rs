//! Per-chain aggregation: which metrics, which direction is better, and
//! their means with 95% intervals.

use std::collections::BTreeMap;

use crate::record::{Measured, Record};
use crate::stats::{mean_interval, rate_interval, Estimate};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
    /// Descriptive only (e.g. entropy: neither high nor low is good per se).
    Neither,
}

#[derive(Clone, Copy)]
pub enum Value {
    /// Averaged over the generations where it is defined.
    Mean(fn(&Measured) -> Option<f64>),
    /// Share of generations where it holds.
    Rate(fn(&Measured) -> Option<bool>),
}

/// One row of the full table.
#[derive(Clone, Copy)]
pub struct MetricDef {
    pub id: &'static str,
    pub label: &'static str,
    pub better: Better,
    pub value: Value,
    pub digits: usize,
}

const fn mean(
    id: &'static str,
    label: &'static str,
    better: Better,
    digits: usize,
    f: fn(&Measured) -> Option<f64>,
) -> MetricDef {
    MetricDef { id, label, better, value: Value::Mean(f), digits }
}
const fn rate(id: &'static str, label: &'static str, better: Better, f: fn(&Measured) -> Option<bool>) -> MetricDef {
    MetricDef { id, label, better, value: Value::Rate(f), digits: 2 }
}

/// Tokens before the tail loop starts, or all tokens when there is no loop:
/// how long the chain stays coherent, counting generations that never
/// collapse at their full length.
pub fn coherent_tokens(m: &Measured) -> usize {
    m.metrics.loop_onset().unwrap_or(m.generated.tokens.len())
}

pub const METRICS: &[MetricDef] = &[
    rate("collapsed", "collapsed (tail loop)", Better::Lower, |m| Some(m.metrics.tail_loop.is_some())),
    mean("coherent_tokens", "coherent tokens (before loop)", Better::Higher, 1, |m| Some(coherent_tokens(m) as f64)),
    mean("loop_onset", "loop onset (collapsed only)", Better::Higher, 1, |m| m.metrics.loop_onset().map(|x| x as f64)),
    mean("loop_period", "loop period (collapsed only)", Better::Neither, 1, |m| {
        m.metrics.tail_loop.map(|l| l.period as f64)
    }),
    rate("entropy_spike", "entropy spike", Better::Lower, |m| {
        (!m.generated.entropy.is_empty()).then_some(m.metrics.entropy_spike_at.is_some())
    }),
    mean("spike_onset", "first entropy spike (spiking only)", Better::Higher, 1, |m| {
        m.metrics.entropy_spike_at.map(|x| x as f64)
    }),
    mean("seq_rep_1", "seq-rep-1", Better::Lower, 3, |m| Some(m.metrics.seq_rep[0])),
    mean("seq_rep_2", "seq-rep-2", Better::Lower, 3, |m| Some(m.metrics.seq_rep[1])),
    mean("seq_rep_3", "seq-rep-3", Better::Lower, 3, |m| Some(m.metrics.seq_rep[2])),
    mean("seq_rep_4", "seq-rep-4", Better::Lower, 3, |m| Some(m.metrics.seq_rep[3])),
    mean("simctg_rep_2", "SimCTG rep-2 (%)", Better::Lower, 1, |m| Some(m.metrics.simctg_rep[0])),
    mean("simctg_rep_3", "SimCTG rep-3 (%)", Better::Lower, 1, |m| Some(m.metrics.simctg_rep[1])),
    mean("simctg_rep_4", "SimCTG rep-4 (%)", Better::Lower, 1, |m| Some(m.metrics.simctg_rep[2])),
    mean("simctg_diversity", "SimCTG diversity", Better::Higher, 3, |m| Some(m.metrics.simctg_diversity)),
    mean("distinct_1", "distinct-1", Better::Higher, 3, |m| Some(m.metrics.distinct[0])),
    mean("distinct_2", "distinct-2", Better::Higher, 3, |m| Some(m.metrics.distinct[1])),
    mean("distinct_3", "distinct-3", Better::Higher, 3, |m| Some(m.metrics.distinct[2])),
    mean("distinct_4", "distinct-4", Better::Higher, 3, |m| Some(m.metrics.distinct[3])),
    mean("rep_line", "rep-line", Better::Lower, 3, |m| Some(m.metrics.rep_line)),
    mean("longest_line", "longest line (chars)", Better::Lower, 0, |m| Some(m.metrics.longest_line as f64)),
    mean("entropy_mean", "mean entropy (nats)", Better::Neither, 2, |m| m.metrics.entropy_mean),
    mean("entropy_max", "max entropy (nats)", Better::Neither, 2, |m| m.metrics.entropy_max),
    rate("parses", "parses (tree-sitter)", Better::Higher, |m| Some(m.java.parses)),
    mean("first_error", "first syntax error (token)", Better::Higher, 1, |m| {
        m.java.first_error_token.map(|x| x as f64)
    }),
    rate("compiles", "compiles (javac)", Better::Higher, |m| m.java.compiles),
    rate("bare_return", "`return;` in non-void method", Better::Lower, |m| Some(m.java.bare_return_in_non_void)),
    mean("tokens", "generated tokens", Better::Neither, 1, |m| Some(m.generated.tokens.len() as f64)),
    mean("rewinds", "rewinds per generation", Better::Neither, 2, |m| Some(m.generated.rewinds as f64)),
    mean("generated_per_kept", "tokens generated per token kept", Better::Lower, 3, |m| {
        let kept = m.generated.tokens.len();
        (kept > 0).then(|| (kept + m.generated.discarded) as f64 / kept as f64)
    }),
    mean("tokens_per_second", "tokens/s", Better::Higher, 1, |m| Some(m.tokens_per_second)),
];

/// The columns of the headline table, by metric id.
pub const HEADLINE: &[&str] = &[
    "collapsed",
    "coherent_tokens",
    "seq_rep_4",
    "rep_line",
    "parses",
    "compiles",
    "entropy_mean",
    "tokens_per_second",
];

pub fn metric(id: &str) -> &'static MetricDef {
    METRICS.iter().find(|m| m.id == id).expect("headline ids name metrics")
}

/// One chain's results on one model.
pub struct ChainSummary {
    pub chain: String,
    pub ok: usize,
    /// `(job key, reason)` of each failed generation.
    pub failures: Vec<(String, String)>,
    pub estimates: BTreeMap<&'static str, Estimate>,
    /// Milliseconds per generated token in each stage.
    pub stage_ms_per_token: BTreeMap<String, f64>,
    /// Milliseconds spent rolling the chain back per rewind, when it rewound.
    pub rollback_ms_per_rewind: Option<f64>,
    /// Generations per kind of first javac error ([`error_kind`]), plus
    /// "compiles" and "not compiled" (javac gave no verdict).
    pub first_errors: BTreeMap<&'static str, usize>,
}

/// The kind of javac's first error message, with names and types left out
/// so that generations group: `variable mid is already defined in method
/// merge(int[])` is "already defined".
pub fn error_kind(message: &str) -> &'static str {
    const KINDS: &[(&str, &str)] = &[
        ("cannot find symbol", "cannot find symbol"),
        ("already defined", "already defined"),
        ("cannot be dereferenced", "cannot be dereferenced"),
        ("bad operand", "bad operand types"),
        ("incompatible types", "incompatible types"),
        ("cannot be applied", "wrong arguments"),
        ("no suitable", "wrong arguments"),
        ("missing return", "missing return statement"),
        ("might not have been initialized", "not initialized"),
        ("static context", "static context"),
        ("modifier", "modifiers"),
        ("unreachable", "unreachable statement"),
        ("expected", "syntax"),
        ("illegal start", "syntax"),
        ("not a statement", "syntax"),
        ("reached end of file", "syntax"),
        ("return type required", "syntax"),
    ];
    KINDS.iter().find(|(needle, _)| message.contains(needle)).map_or("other", |k| k.1)
}

/// Summaries of `records` (one model's) per chain, in `chains` order.
pub fn summarise(chains: &[String], records: &[&Record]) -> Vec<ChainSummary> {
    chains
        .iter()
        .map(|chain| {
            let mine: Vec<&Record> = records.iter().copied().filter(|r| &r.chain == chain).collect();
            let measured: Vec<&Measured> = mine.iter().filter_map(|r| r.measured()).collect();
            let failures = mine
                .iter()
                .filter_map(|r| match &r.outcome {
                    crate::record::Outcome::Failed { error } => Some((r.key.clone(), error.clone())),
                    crate::record::Outcome::Ok(_) => None,
                })
                .collect();
            let mut estimates = BTreeMap::new();
            for def in METRICS {
                let estimate = match def.value {
                    Value::Mean(f) => mean_interval(&measured.iter().filter_map(|m| f(m)).collect::<Vec<_>>()),
                    Value::Rate(f) => rate_interval(&measured.iter().filter_map(|m| f(m)).collect::<Vec<_>>()),
                };
                if let Some(e) = estimate {
                    estimates.insert(def.id, e);
                }
            }
            let tokens: usize = measured.iter().map(|m| m.generated.tokens.len()).sum();
            let mut stage_ms_per_token = BTreeMap::new();
            for m in &measured {
                for (stage, seconds) in &m.generated.stage_seconds {
                    *stage_ms_per_token.entry(stage.clone()).or_insert(0.0) += seconds * 1000.0 / tokens.max(1) as f64;
                }
            }
            let rewinds: usize = measured.iter().map(|m| m.generated.rewinds).sum();
            let rollback: f64 = measured.iter().map(|m| m.generated.rollback_seconds).sum();
            let rollback_ms_per_rewind = (rewinds > 0).then(|| rollback * 1000.0 / rewinds as f64);
            let mut first_errors = BTreeMap::new();
            for m in &measured {
                let kind = match (&m.java.compiles, &m.java.compile_error) {
                    (Some(true), _) => "compiles",
                    (_, Some(message)) => error_kind(message),
                    _ => "not compiled",
                };
                *first_errors.entry(kind).or_insert(0) += 1;
            }
            ChainSummary {
                chain: chain.clone(),
                ok: measured.len(),
                failures,
                estimates,
                stage_ms_per_token,
                rollback_ms_per_rewind,
                first_errors,
            }
        })
        .collect()
}

/// Indices of the chains with the best mean of `def` (all of them on a
/// tie); empty when the metric has no direction or every chain ties.
pub fn best_chains(def: &MetricDef, summaries: &[ChainSummary]) -> Vec<usize> {
    let values: Vec<(usize, f64)> =
        summaries.iter().enumerate().filter_map(|(i, s)| s.estimates.get(def.id).map(|e| (i, e.mean))).collect();
    let best = match def.better {
        Better::Lower => values.iter().map(|v| v.1).min_by(f64::total_cmp),
        Better::Higher => values.iter().map(|v| v.1).max_by(f64::total_cmp),
        Better::Neither => None,
    };
    let Some(best) = best else { return Vec::new() };
    let winners: Vec<usize> =
        values.iter().filter(|v| (v.1 - best).abs() <= 1e-9 * best.abs().max(1.0)).map(|v| v.0).collect();
    if winners.len() == values.len() {
        return Vec::new();
    }
    winners
}

/// `0.12 [0.05, 0.20]`, rates as percentages.
pub fn format_estimate(def: &MetricDef, e: &Estimate) -> (String, String) {
    match def.value {
        Value::Rate(_) => (format!("{:.0}%", e.mean * 100.0), format!("[{:.0}, {:.0}]", e.low * 100.0, e.high * 100.0)),
        Value::Mean(_) => {
            let d = def.digits;
            (format!("{:.d$}", e.mean), format!("[{:.d$}, {:.d$}]", e.low, e.high))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::error_kind;

    #[test]
    fn javac_messages_group_by_kind() {
        assert_eq!(
            error_kind("variable mid is already defined in method merge(int[],int[],int,int,int)"),
            "already defined"
        );
        assert_eq!(error_kind("method isEmpty() is already defined in class MinHeap"), "already defined");
        assert_eq!(error_kind("cannot find symbol"), "cannot find symbol");
        assert_eq!(error_kind("int cannot be dereferenced"), "cannot be dereferenced");
        assert_eq!(error_kind("bad operand types for binary operator '<<'"), "bad operand types");
        assert_eq!(error_kind("';' expected"), "syntax");
        assert_eq!(error_kind("something new"), "other");
    }
}
