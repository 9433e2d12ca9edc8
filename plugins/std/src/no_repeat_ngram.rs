//! `no_repeat_ngram`: forbids any n-gram from occurring twice.
//!
//! Semantics of Hugging Face `NoRepeatNGramLogitsProcessor`: over the whole
//! sequence (prompt and generated tokens), every earlier occurrence of the
//! last `n - 1` tokens bans the token that followed it, because emitting it
//! would repeat that n-gram. Nothing is banned while the sequence is
//! shorter than `n - 1` tokens; `n = 1` bans every token already present.
//!
//! A direct scan, O(len * n) per step, allocation-free; at code-model
//! context lengths (≤ 1024 tokens) this is a few microseconds, and unlike
//! HF's per-step dictionary it needs no hashing.

use logitloom_plugin_api::{
    LogitProcessor, ParamKind, ParamSpec, Params, PluginError, ProcessorInfo, Rollback, Setup, StageKind, Step,
};

pub struct NoRepeatNgram {
    n: usize,
}

impl LogitProcessor for NoRepeatNgram {
    /// Nothing to undo: every step works from the tokens it is shown
    /// (scratch buffers aside).
    fn rollback(&mut self, _len: usize) -> Result<Rollback, PluginError> {
        Ok(Rollback::Done)
    }

    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "no_repeat_ngram".into(),
            kind: StageKind::Processor,
            description: "Ban tokens that would repeat an n-gram of prompt+output (HF NoRepeatNGramLogitsProcessor)."
                .into(),
            params: vec![ParamSpec::new("n", ParamKind::int_at_least(1), None, "n-gram size")],
            needs_raw_logits: false,
            needs_token_bytes: false,
            may_rewind: false,
        }
    }

    fn create(params: &Params, _setup: &Setup<'_>) -> Result<Self, PluginError> {
        Ok(NoRepeatNgram { n: usize::try_from(params.int("n")).unwrap_or(usize::MAX) })
    }

    fn process(&mut self, step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        let tokens = step.tokens;
        let n = self.n;
        // Fewer than n tokens hold no complete n-gram to repeat.
        if tokens.len() < n {
            return Ok(());
        }
        let prefix = &tokens[tokens.len() + 1 - n..];
        for ngram in tokens.windows(n) {
            if &ngram[..n - 1] == prefix {
                if let Some(l) = logits.get_mut(ngram[n - 1] as usize) {
                    *l = f32::NEG_INFINITY;
                }
            }
        }
        Ok(())
    }
}
