//! One line of `results.jsonl`: a generation, its text and every measure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metrics::Degeneration;

/// A generation as the generator returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Generated {
    /// Generated token ids (prompt excluded).
    pub tokens: Vec<u32>,
    /// The continuation's text.
    pub text: String,
    /// Byte offset in `text` where each token ends, to map text positions
    /// (syntax errors) to token positions.
    pub token_ends: Vec<usize>,
    /// Entropy (nats) of the distribution each token was drawn from, from
    /// the entropy logger; may be empty when the chain produced none.
    pub entropy: Vec<f32>,
    /// `eos`, `max_tokens` or `context_full`.
    pub finish: String,
    pub prefill_seconds: f64,
    pub decode_seconds: f64,
    /// Seconds spent in each chain stage for this sequence.
    pub stage_seconds: BTreeMap<String, f64>,
    /// Rewinds the chain's stages made (granted ones); `tokens` is what
    /// they kept.
    #[serde(default)]
    pub rewinds: usize,
    /// Tokens those rewinds dropped.
    #[serde(default)]
    pub discarded: usize,
    /// Seconds spent rolling the chain's stages back (in `stage_seconds`
    /// too).
    #[serde(default)]
    pub rollback_seconds: f64,
}

impl Generated {
    /// The token that contains byte `offset` of the text (the last token
    /// for offsets at or past the end).
    pub fn token_at_byte(&self, offset: usize) -> usize {
        self.token_ends.partition_point(|&end| end <= offset).min(self.tokens.len().saturating_sub(1))
    }
}

/// The Java checks of a generation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JavaChecks {
    /// tree-sitter finds no ERROR or MISSING node in the closed source.
    pub parses: bool,
    /// Token position of the first syntax error, clamped to the continuation
    /// (an error in the appended closing braces counts as at its end).
    pub first_error_token: Option<usize>,
    pub bare_return_in_non_void: bool,
    /// What the brace-closing rule did (see `java::closing`).
    pub dropped_bytes: usize,
    pub appended: String,
    /// Filled after generation by the batch javac run; `None` until then.
    pub compiles: Option<bool>,
    pub compile_error: Option<String>,
}

/// A finished generation with its measures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub generated: Generated,
    pub metrics: Degeneration,
    pub java: JavaChecks,
    /// Generated tokens per second of prefill plus decode.
    pub tokens_per_second: f64,
}

/// What happened to a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Ok(Box<Measured>),
    Failed { error: String },
}

/// One line of `results.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub key: String,
    pub fingerprint: String,
    pub model: String,
    pub chain: String,
    pub prompt: String,
    pub seed: u64,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Record {
    pub fn measured(&self) -> Option<&Measured> {
        match &self.outcome {
            Outcome::Ok(m) => Some(m),
            Outcome::Failed { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_byte_offsets_to_tokens() {
        let g = Generated {
            tokens: vec![10, 11, 12],
            text: "int x;".into(),
            token_ends: vec![3, 5, 6],
            entropy: vec![],
            finish: "eos".into(),
            prefill_seconds: 0.0,
            decode_seconds: 0.0,
            stage_seconds: BTreeMap::new(),
            rewinds: 0,
            discarded: 0,
            rollback_seconds: 0.0,
        };
        let at: Vec<usize> = [0, 2, 3, 4, 5, 6, 99].iter().map(|&b| g.token_at_byte(b)).collect();
        assert_eq!(at, [0, 0, 1, 1, 2, 2, 2]);
    }
}
