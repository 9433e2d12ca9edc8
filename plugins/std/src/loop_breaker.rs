//! `loop_breaker`: catches a tail loop as it forms and rewinds out of it.
//!
//! Repetition penalties act on every step, loop or not, and push a code
//! model off the `}`, `;` and `return` that Java needs over and over. This
//! stage does nothing until the generated tokens end in a unit repeated
//! back to back (the benchmark's periodic tail, `crate::periodic`), long
//! enough to be a loop rather than two similar lines. Then it rewinds to
//! the start of the second copy and bans the token that began it, so the
//! model must leave the attractor there; the sequence keeps the first copy.
//!
//! A tail is a loop when it holds at least `min_repeats` full copies of a
//! unit of at most `max_period` tokens and spans at least `min_span`
//! tokens: with the defaults, `.S` x6 (12 tokens), a 4-token unit x3, any
//! unit of 6 to 16 tokens x2. A longer unit (a repeated method) is called a
//! loop once `min_match` tokens of its second copy repeat the first: going
//! back then costs those tokens, not the whole unit. The benchmark calls
//! the same tail collapsed only at 10 copies, or 3 copies over 48 tokens.

use logitloom_plugin_api::{
    LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Rollback, Setup, StageKind,
    Step,
};

use crate::periodic::longest_periodic_tail;

pub struct LoopBreaker {
    max_period: usize,
    min_repeats: usize,
    min_span: usize,
    min_match: usize,
}

impl LogitProcessor for LoopBreaker {
    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "loop_breaker".into(),
            kind: StageKind::Processor,
            description: "When the output ends in a repeated unit, rewind to the start of its second copy and ban \
                          the token that began it (needs a caller that can rewind)."
                .into(),
            params: vec![
                ParamSpec::new(
                    "max_period",
                    ParamKind::int_in(1, 512),
                    Some(ParamValue::Int(64)),
                    "longest repeated unit, in tokens",
                ),
                ParamSpec::new(
                    "min_repeats",
                    ParamKind::int_in(2, 1000),
                    Some(ParamValue::Int(2)),
                    "full copies that make a loop",
                ),
                ParamSpec::new(
                    "min_span",
                    ParamKind::int_in(2, 4096),
                    Some(ParamValue::Int(12)),
                    "tokens the copies must cover together (so short units need more copies)",
                ),
                ParamSpec::new(
                    "min_match",
                    ParamKind::int_in(2, 4096),
                    Some(ParamValue::Int(16)),
                    "a unit longer than this is a loop once this many tokens of its second copy repeat it",
                ),
            ],
            needs_raw_logits: false,
            needs_token_bytes: false,
            may_rewind: true,
        }
    }

    fn create(params: &Params, _setup: &Setup<'_>) -> Result<Self, PluginError> {
        Ok(LoopBreaker {
            max_period: params.int("max_period") as usize,
            min_repeats: params.int("min_repeats") as usize,
            min_span: params.int("min_span") as usize,
            min_match: params.int("min_match") as usize,
        })
    }

    fn process(&mut self, step: &mut Step<'_>, _logits: &mut [f32]) -> Result<(), PluginError> {
        let generated = step.generated();
        let Some(tail) = longest_periodic_tail(generated, self.max_period) else { return Ok(()) };
        // Tokens after the first copy that repeat it.
        let repeated = generated.len() - tail.start - tail.period;
        let full_copies = tail.repeats >= self.min_repeats && tail.repeats * tail.period >= self.min_span;
        let long_unit_repeating = tail.period > self.min_match && repeated >= self.min_match;
        if full_copies || long_unit_repeating {
            let second_copy = step.prompt_len + tail.start + tail.period;
            step.rewind(second_copy, &[step.tokens[second_copy]]);
        }
        Ok(())
    }

    /// Nothing to undo: the stage looks only at the tokens it is shown.
    fn rollback(&mut self, _len: usize) -> Result<Rollback, PluginError> {
        Ok(Rollback::Done)
    }
}
