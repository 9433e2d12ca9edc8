//! The history penalties: `repetition_penalty` and
//! `frequency_presence_penalty`.
//!
//! Both walk only the tokens of the history (not the vocabulary) and keep a
//! vocabulary-sized scratch table that they leave zeroed after each step, so
//! a step costs O(history), not O(vocab), and nothing is allocated.

use logitloom_plugin_api::{
    LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Rollback, Setup, StageKind,
    Step,
};

use crate::history::History;

/// `repetition_penalty`: CTRL (Keskar et al., 2019) as implemented by Hugging
/// Face `RepetitionPenaltyLogitsProcessor`: for each *distinct* token in the
/// history, `logit > 0 ? logit / penalty : logit * penalty`. Both branches
/// make the token less likely for `penalty > 1`; dividing a negative logit
/// would instead make it *more* likely. A token seen twice is penalised
/// once.
pub struct RepetitionPenalty {
    penalty: f32,
    history: History,
    seen: Vec<bool>,
}

impl LogitProcessor for RepetitionPenalty {
    /// Nothing to undo: every step works from the tokens it is shown
    /// (scratch buffers aside).
    fn rollback(&mut self, _len: usize) -> Result<Rollback, PluginError> {
        Ok(Rollback::Done)
    }

    fn info() -> ProcessorInfo {
        let mut params = vec![ParamSpec::new(
            "penalty",
            ParamKind::positive_float(),
            None,
            "> 1 discourages repeats, < 1 encourages them",
        )];
        params.extend(History::specs());
        ProcessorInfo {
            name: "repetition_penalty".into(),
            kind: StageKind::Processor,
            description: "CTRL penalty on seen tokens: positive logits / penalty, negative * penalty (HF).".into(),
            params,
            needs_raw_logits: false,
            needs_token_bytes: false,
            may_rewind: false,
        }
    }

    fn create(params: &Params, setup: &Setup<'_>) -> Result<Self, PluginError> {
        Ok(RepetitionPenalty {
            penalty: params.float("penalty") as f32,
            history: History::from_params(params),
            seen: vec![false; setup.vocab_size],
        })
    }

    fn process(&mut self, step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        let tokens = self.history.tokens(step);
        grow(&mut self.seen, logits.len(), false);
        for &t in tokens {
            let t = t as usize;
            if t < logits.len() && !self.seen[t] {
                self.seen[t] = true;
                let l = logits[t];
                logits[t] = if l > 0.0 { l / self.penalty } else { l * self.penalty };
            }
        }
        for &t in tokens {
            if let Some(s) = self.seen.get_mut(t as usize) {
                *s = false;
            }
        }
        Ok(())
    }
}

/// `frequency_presence_penalty`: the OpenAI API penalties,
/// `logit -= frequency * count + presence * (count > 0)`, where `count` is
/// how often the token occurs in the history.
pub struct FrequencyPresencePenalty {
    frequency: f64,
    presence: f64,
    history: History,
    counts: Vec<u32>,
}

impl LogitProcessor for FrequencyPresencePenalty {
    /// Nothing to undo: every step works from the tokens it is shown
    /// (scratch buffers aside).
    fn rollback(&mut self, _len: usize) -> Result<Rollback, PluginError> {
        Ok(Rollback::Done)
    }

    fn info() -> ProcessorInfo {
        let mut params = vec![
            ParamSpec::new(
                "frequency",
                ParamKind::Float { min: None, max: None, min_exclusive: false, max_exclusive: false },
                Some(ParamValue::Float(0.0)),
                "subtracted once per occurrence",
            ),
            ParamSpec::new(
                "presence",
                ParamKind::Float { min: None, max: None, min_exclusive: false, max_exclusive: false },
                Some(ParamValue::Float(0.0)),
                "subtracted once if the token occurred at all",
            ),
        ];
        params.extend(History::specs());
        ProcessorInfo {
            name: "frequency_presence_penalty".into(),
            kind: StageKind::Processor,
            description: "OpenAI penalties: logit -= frequency * count + presence * (count > 0).".into(),
            params,
            needs_raw_logits: false,
            needs_token_bytes: false,
            may_rewind: false,
        }
    }

    fn create(params: &Params, setup: &Setup<'_>) -> Result<Self, PluginError> {
        Ok(FrequencyPresencePenalty {
            frequency: params.float("frequency"),
            presence: params.float("presence"),
            history: History::from_params(params),
            counts: vec![0; setup.vocab_size],
        })
    }

    fn process(&mut self, step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        let tokens = self.history.tokens(step);
        grow(&mut self.counts, logits.len(), 0);
        for &t in tokens {
            if let Some(c) = self.counts.get_mut(t as usize) {
                *c += 1;
            }
        }
        // The second walk applies each distinct token once and zeroes its
        // count as it goes, which both dedupes and resets the table.
        for &t in tokens {
            let t = t as usize;
            if t < logits.len() && self.counts[t] > 0 {
                let penalty = self.frequency * self.counts[t] as f64 + self.presence;
                logits[t] = (logits[t] as f64 - penalty) as f32;
                self.counts[t] = 0;
            }
        }
        Ok(())
    }
}

/// A host may hand a row wider than the `vocab_size` it announced (padded
/// embeddings); the table follows the row.
fn grow<T: Clone>(table: &mut Vec<T>, len: usize, fill: T) {
    if table.len() < len {
        table.resize(len, fill);
    }
}
