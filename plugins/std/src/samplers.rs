//! The two samplers: `greedy` and `multinomial`.

use logitloom_plugin_api::{LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Setup, StageKind, Step};

use crate::dist::is_live;
use crate::rng::Rng;

/// Refuses rows no sampler can draw from: a NaN or `+inf` anywhere (a model
/// or plugin bug upstream), or nothing left alive.
fn check_row(logits: &[f32]) -> Result<(), PluginError> {
    if let Some(i) = logits.iter().position(|l| l.is_nan() || *l == f32::INFINITY) {
        return Err(PluginError::new(format!("logit of token {i} is {}; cannot sample", logits[i])));
    }
    if !logits.iter().any(|&l| is_live(l)) {
        return Err(PluginError::new("every token was removed (all logits are -inf); nothing to sample"));
    }
    Ok(())
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
        check_row(logits)?;
        let mut best = 0;
        for (i, &l) in logits.iter().enumerate() {
            if l > logits[best] {
                best = i;
            }
        }
        Ok(best as u32)
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
    live: Vec<(u32, f64)>,
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
        check_row(logits)?;
        let max = crate::dist::max_live(logits).expect("check_row found a live token");
        self.live.clear();
        let mut total = 0.0f64;
        for (i, &l) in logits.iter().enumerate() {
            if is_live(l) {
                let w = libm::expf(l - max) as f64;
                total += w;
                self.live.push((i as u32, w));
            }
        }
        let u = self.rng.next_f64() * total;
        let mut acc = 0.0f64;
        for &(token, w) in &self.live {
            acc += w;
            if u < acc {
                return Ok(token);
            }
        }
        // Only reachable when rounding puts `u` at the very top; the last
        // token with weight is the one the CDF ends on.
        let last = self.live.iter().rev().find(|(_, w)| *w > 0.0).unwrap_or(&self.live[self.live.len() - 1]);
        Ok(last.0)
    }
}
