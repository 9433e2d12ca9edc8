//! The two samplers: `greedy` and `multinomial`.

use logitloom_plugin_api::{LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Setup, StageKind, Step};

use crate::dist::{argmax_checked, gather_live_checked, InvalidLogit};
use crate::rng::Rng;

/// Refuses rows no sampler can draw from: a NaN or `+inf` anywhere (a model
/// or plugin bug upstream), or nothing left alive (`None`).
fn sampleable<T>(logits: &[f32], scanned: Result<Option<T>, InvalidLogit>) -> Result<T, PluginError> {
    match scanned {
        Err(InvalidLogit(i)) => Err(PluginError::new(format!("logit of token {i} is {}; cannot sample", logits[i]))),
        Ok(None) => Err(PluginError::new("every token was removed (all logits are -inf); nothing to sample")),
        Ok(Some(value)) => Ok(value),
    }
}

/// Gathers the live tokens (`(logit, id)`, id order) and returns their max.
fn live_tokens(logits: &[f32], live: &mut Vec<(f32, u32)>) -> Result<f32, PluginError> {
    sampleable(logits, gather_live_checked(logits, live))
}

/// `greedy`: the argmax; of tied maxima the lowest token id wins, so the
/// choice never depends on iteration order or platform.
pub struct Greedy;

impl LogitProcessor for Greedy {
    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "greedy".into(),
            kind: StageKind::Sampler,
            description: "Pick the most likely token (lowest id on ties).".into(),
            params: vec![],
            needs_raw_logits: false,
            needs_token_bytes: false,
        }
    }

    fn create(_params: &Params, _setup: &Setup<'_>) -> Result<Self, PluginError> {
        Ok(Greedy)
    }

    fn sample(&mut self, _step: &mut Step<'_>, logits: &[f32]) -> Result<u32, PluginError> {
        sampleable(logits, argmax_checked(logits)).map(|(_, token)| token)
    }
}

/// `multinomial`: draws from `softmax(logits)` by inverse CDF.
///
/// The live tokens and their weights `exp(l - max)` are gathered in id
/// order, one uniform `u` in `[0, total)` is drawn, and the first token
/// whose running sum exceeds `u` is picked. Removed (`-inf`) tokens are
/// skipped outright, so after `top_k = 40` a draw costs 40 `exp`s.
pub struct Multinomial {
    rng: Rng,
    /// Live tokens of the current row: `(logit, id)`, then `(weight, id)`.
    live: Vec<(f32, u32)>,
}

/// The `seed` value that means "use the per-sequence seed the host derives
/// from `--seed`" (the parameter API has no optional values).
const SEED_FROM_RUN: i64 = -1;

impl LogitProcessor for Multinomial {
    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "multinomial".into(),
            kind: StageKind::Sampler,
            description: "Sample from softmax(logits) with a seeded xoshiro256** generator.".into(),
            params: vec![ParamSpec::new(
                "seed",
                ParamKind::int_at_least(SEED_FROM_RUN),
                Some(ParamValue::Int(SEED_FROM_RUN)),
                "fixed seed for this stage; -1 uses the run's per-sequence seed",
            )],
            needs_raw_logits: false,
            needs_token_bytes: false,
        }
    }

    fn create(params: &Params, setup: &Setup<'_>) -> Result<Self, PluginError> {
        let seed = match params.int("seed") {
            SEED_FROM_RUN => setup.seed,
            fixed => fixed as u64,
        };
        Ok(Multinomial { rng: Rng::from_seed(seed), live: Vec::new() })
    }

    fn sample(&mut self, _step: &mut Step<'_>, logits: &[f32]) -> Result<u32, PluginError> {
        let max = live_tokens(logits, &mut self.live)?;
        // Logits become weights in place; summed in id order, so the bits of
        // `total` are the same on every platform.
        let mut total = 0.0f64;
        for entry in self.live.iter_mut() {
            entry.0 = libm::expf(entry.0 - max);
            total += entry.0 as f64;
        }
        let u = self.rng.next_f64() * total;
        let mut acc = 0.0f64;
        let mut last_positive = self.live[0].1;
        for &(w, token) in &self.live {
            acc += w as f64;
            if u < acc {
                return Ok(token);
            }
            if w > 0.0 {
                last_positive = token;
            }
        }
        // Only reachable when rounding puts `u` at the very top: the CDF
        // ends on the last token with weight.
        Ok(last_positive)
    }
}
