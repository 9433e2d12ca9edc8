//! `entropy_backtrack`: takes back a token the model did not believe in.
//!
//! A small code model's first error is often one unlikely token drawn after
//! a confident stretch (the benchmark's entropy spike). Truncating samplers
//! (top-p, min-p) remove such tokens at every step, confident or not; this
//! stage acts only when the chosen token's probability, under the row the
//! sampler drew from, is below `min_prob` *and* the previous `window`
//! positions were confident (mean entropy below `max_entropy` nats). It then
//! rewinds `back` tokens before the unlikely one (0: redo that position)
//! and bans the token chosen at the position it goes back to.
//!
//! Place it right before the sampler, so it sees the row the sampler
//! draws from.

use logitloom_plugin_api::{
    LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Rollback, Setup, StageKind,
    Step,
};

use crate::row::softmax;

pub struct EntropyBacktrack {
    min_prob: f64,
    max_entropy: f64,
    window: usize,
    back: usize,
    /// (position, entropy) of every choice so far, in order.
    entropies: Vec<(usize, f64)>,
    /// The row of the current step and its log-partition, for `accept`.
    row: Vec<f32>,
    pending: Option<(usize, f64, f64)>,
}

impl LogitProcessor for EntropyBacktrack {
    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "entropy_backtrack".into(),
            kind: StageKind::Processor,
            description: "When a token below `min_prob` follows a confident stretch, rewind and ban it (needs a \
                          caller that can rewind)."
                .into(),
            params: vec![
                ParamSpec::new(
                    "min_prob",
                    ParamKind::float_in(0.0, 1.0),
                    Some(ParamValue::Float(0.02)),
                    "a chosen token below this probability is suspect",
                ),
                ParamSpec::new(
                    "max_entropy",
                    ParamKind::positive_float(),
                    Some(ParamValue::Float(1.0)),
                    "mean entropy (nats) of a confident stretch",
                ),
                ParamSpec::new(
                    "window",
                    ParamKind::int_in(1, 256),
                    Some(ParamValue::Int(8)),
                    "positions a confident stretch spans",
                ),
                ParamSpec::new(
                    "back",
                    ParamKind::int_in(0, 64),
                    Some(ParamValue::Int(0)),
                    "extra tokens to go back before the suspect one",
                ),
            ],
            needs_raw_logits: false,
            needs_token_bytes: false,
            may_rewind: true,
        }
    }

    fn create(params: &Params, _setup: &Setup<'_>) -> Result<Self, PluginError> {
        Ok(EntropyBacktrack {
            min_prob: params.float("min_prob"),
            max_entropy: params.float("max_entropy"),
            window: params.int("window") as usize,
            back: params.int("back") as usize,
            entropies: Vec::new(),
            row: Vec::new(),
            pending: None,
        })
    }

    fn process(&mut self, step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        self.pending = softmax(logits).map(|s| (step.tokens.len(), s.log_z, s.entropy));
        self.row.clear();
        self.row.extend_from_slice(logits);
        Ok(())
    }

    fn accept(&mut self, step: &mut Step<'_>, token: u32) -> Result<(), PluginError> {
        let Some((pos, log_z, entropy)) = self.pending.take() else { return Ok(()) };
        let confident = self.entropies.len() >= self.window && {
            let recent = &self.entropies[self.entropies.len() - self.window..];
            recent.iter().map(|(_, h)| h).sum::<f64>() / self.window as f64 <= self.max_entropy
        };
        let prob = self.row.get(token as usize).map_or(0.0, |&l| libm::exp(l as f64 - log_z));
        self.entropies.push((pos, entropy));
        if confident && prob < self.min_prob {
            let to_len = pos.saturating_sub(self.back).max(step.prompt_len);
            let ban = if to_len == pos { token } else { step.tokens[to_len] };
            step.rewind(to_len, &[ban]);
        }
        Ok(())
    }

    fn rollback(&mut self, len: usize) -> Result<Rollback, PluginError> {
        self.entropies.retain(|&(pos, _)| pos < len);
        self.pending = None;
        Ok(Rollback::Done)
    }
}
