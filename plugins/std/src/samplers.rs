//! The two samplers: `greedy` and `multinomial`.

use logitloom_plugin_api::{
    LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Rollback, Setup, StageKind,
    Step,
};

use std::ops::ControlFlow;

use crate::row::{argmax_checked, for_each_weight_block, InvalidLogit};
use logitloom_numerics::Rng;

/// Refuses rows no sampler can draw from: a NaN or `+inf` anywhere (a model
/// or plugin bug upstream), or nothing left alive (`None`).
fn sampleable<T>(logits: &[f32], scanned: Result<Option<T>, InvalidLogit>) -> Result<T, PluginError> {
    match scanned {
        Err(InvalidLogit(i)) => Err(PluginError::new(format!("logit of token {i} is {}; cannot sample", logits[i]))),
        Ok(None) => Err(PluginError::new("every token was removed (all logits are -inf); nothing to sample")),
        Ok(Some(value)) => Ok(value),
    }
}

/// `greedy`: the argmax; of tied maxima the lowest token id wins, so the
/// choice never depends on iteration order or platform.
pub struct Greedy;

impl LogitProcessor for Greedy {
    /// Nothing to undo: every step works from the tokens it is shown
    /// (scratch buffers aside).
    fn rollback(&mut self, _len: usize) -> Result<Rollback, PluginError> {
        Ok(Rollback::Done)
    }

    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "greedy".into(),
            kind: StageKind::Sampler,
            description: "Pick the most likely token (lowest id on ties).".into(),
            params: vec![],
            needs_raw_logits: false,
            needs_token_bytes: false,
            may_rewind: false,
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
/// The weights `exp(l - max)` are summed in id order, one uniform `u` in
/// `[0, total)` is drawn, and the first token whose running sum exceeds `u`
/// is picked. Removed (`-inf`) tokens weigh exactly 0, and 16-entry blocks
/// of them are skipped whole, so after `top_k = 40` a draw costs a fast
/// scan and a few hundred `exp`s.
pub struct Multinomial {
    rng: Rng,
}

/// The `seed` value that means "use the per-sequence seed the host derives
/// from `--seed`" (the parameter API has no optional values).
const SEED_FROM_RUN: i64 = -1;

impl LogitProcessor for Multinomial {
    /// The random stream is *not* rewound: a position chosen again after a
    /// rewind gets a fresh draw. Replaying the draw that picked a banned
    /// token would, by inverse CDF, pick its neighbour in id order instead
    /// of a sample of what is left. Runs stay reproducible: the stream is
    /// seeded and its use deterministic.
    fn rollback(&mut self, _len: usize) -> Result<Rollback, PluginError> {
        Ok(Rollback::Done)
    }

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
            may_rewind: false,
        }
    }

    fn create(params: &Params, setup: &Setup<'_>) -> Result<Self, PluginError> {
        let seed = match params.int("seed") {
            SEED_FROM_RUN => setup.seed,
            fixed => fixed as u64,
        };
        Ok(Multinomial { rng: Rng::from_seed(seed) })
    }

    fn sample(&mut self, _step: &mut Step<'_>, logits: &[f32]) -> Result<u32, PluginError> {
        let (max, best) = sampleable(logits, argmax_checked(logits))?;
        // Summed in id order, so the bits of `total` are the same on every
        // platform; the walk below recomputes the same weights in the same
        // order rather than storing 50k of them.
        let mut total = 0.0f64;
        for_each_weight_block(logits, max, |_, weights| {
            for &w in weights {
                total += w as f64;
            }
            ControlFlow::<()>::Continue(())
        });
        let u = self.rng.next_f64() * total;
        let mut acc = 0.0f64;
        let mut last_positive = best;
        let picked = for_each_weight_block(logits, max, |first, weights| {
            for (j, &w) in weights.iter().enumerate() {
                acc += w as f64;
                let token = (first + j) as u32;
                if u < acc {
                    return ControlFlow::Break(token);
                }
                if w > 0.0 {
                    last_positive = token;
                }
            }
            ControlFlow::Continue(())
        });
        // Without a pick, rounding put `u` at the very top: the CDF ends on
        // the last token with weight.
        Ok(picked.unwrap_or(last_positive))
    }
}
