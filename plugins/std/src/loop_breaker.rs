//! `loop_breaker`: catches a tail loop as it forms and rewinds out of it.
//!
//! Repetition penalties act on every step, loop or not, and push a code
//! model off the `}`, `;` and `return` that Java needs over and over. This
//! stage does nothing until the generated tokens end in a unit repeated
//! back to back (the benchmark's periodic tail, `crate::periodic`), long
//! enough to be a loop rather than two similar lines. Then it rewinds into
//! the second copy and bans the token that copy repeated there, so the
//! model must leave the attractor; the sequence keeps the first copy.
//!
//! *Where* in the second copy matters. A loop is a cycle, and where its
//! "start" falls is an accident of the text before it: often a `;` or a
//! line break, where a ban changes nothing (the model writes `);` or another
//! indent and is back in the loop a token later, at the cost of a whole
//! unit each time). So the stage remembers, for every token it saw chosen,
//! how decided the choice was: the chosen token's logit minus the best
//! other one's (negative when the sampler did not take the top token). It
//! rewinds to the least decided choice of the second copy, usually a name
//! (`getMin` where `getMax` was nearly as likely), where the runner-up is a
//! real alternative and the ban moves the text somewhere new. Ties go to
//! the earliest position; positions it has no record for (a stage created
//! after them) count as fully decided.
//!
//! Not every position is a candidate. A loop of whole lines (`root =
//! null;` x10, `// assert i <= index;` with the operator varied) is a
//! decision to write *another such line*, made at the line's first token;
//! the least decided token inside the line is the part that varies (`<=`
//! or `>=`), and banning it only varies the loop. And banning a `}` or `;`
//! breaks the syntax without leaving the loop. So the candidates are the
//! words (tokens with a letter, digit or `_`) that start a line, else any
//! word, else any token. Without token texts from the host every position
//! is a candidate.
//!
//! A tail is a loop when it holds at least `min_repeats` full copies of a
//! unit of at most `max_period` tokens and spans at least `min_span`
//! tokens: with the defaults, `.S` x6 (12 tokens), a 4-token unit x3, any
//! unit of 6 to 16 tokens x2. A longer unit (a repeated method) is called a
//! loop once `min_match` tokens of its second copy repeat the first: going
//! back then costs those tokens, not the whole unit. The benchmark calls
//! the same tail collapsed only at 10 copies, or 3 copies over 48 tokens.
//! The same test with a long `max_period` catches a copy from further up
//! (the last `min_match` tokens equal the ones `p` back, with other text
//! between): sampled text rarely loops back to back, it copies, and the
//! baseline preset (256, `min_match` 7) takes those copies back too.

use logitloom_plugin_api::{
    LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Rollback, Setup, StageKind,
    Step,
};

use crate::periodic::longest_periodic_tail;
use crate::row::max_live;

pub struct LoopBreaker {
    max_period: usize,
    min_repeats: usize,
    min_span: usize,
    min_match: usize,
    /// Per vocabulary id: the token ends in a newline and, maybe, indent,
    /// so the token after it starts a line. Empty when the host passed no
    /// token texts.
    ends_in_line_break: Vec<bool>,
    /// Per vocabulary id: the token holds a letter, digit or `_` (a name,
    /// keyword or literal, not only punctuation). Empty without texts.
    has_word: Vec<bool>,
    /// `(position, margin)` of every choice seen, in order: the chosen
    /// token's logit minus the best other token's.
    margins: Vec<(usize, f32)>,
    /// The current step's row, for the margin once `accept` sees the choice.
    row: Vec<f32>,
    /// Position of the current step, while its choice is pending.
    pending: Option<usize>,
}

impl LogitProcessor for LoopBreaker {
    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "loop_breaker".into(),
            kind: StageKind::Processor,
            description: "When the output ends in a repeated unit, rewind to the least decided word of its second \
                          copy (a line start if it has one) and ban the token repeated there (needs a caller that \
                          can rewind)."
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
            needs_token_bytes: true,
            may_rewind: true,
        }
    }

    fn create(params: &Params, setup: &Setup<'_>) -> Result<Self, PluginError> {
        let per_token = |test: fn(&[u8]) -> bool| {
            setup
                .token_bytes
                .map_or_else(Vec::new, |bytes| (0..setup.vocab_size).map(|id| test(bytes.get(id))).collect())
        };
        Ok(LoopBreaker {
            ends_in_line_break: per_token(|text| {
                let content = text.iter().rposition(|&b| b != b' ' && b != b'\t');
                content.is_some_and(|i| text[i] == b'\n')
            }),
            has_word: per_token(|text| text.iter().any(|&b| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80)),
            max_period: params.int("max_period") as usize,
            min_repeats: params.int("min_repeats") as usize,
            min_span: params.int("min_span") as usize,
            min_match: params.int("min_match") as usize,
            margins: Vec::new(),
            row: Vec::new(),
            pending: None,
        })
    }

    fn process(&mut self, step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        self.row.clear();
        self.row.extend_from_slice(logits);
        self.pending = Some(step.tokens.len());
        let generated = step.generated();
        let Some(tail) = longest_periodic_tail(generated, self.max_period) else { return Ok(()) };
        // Tokens after the first copy that repeat it.
        let repeated = generated.len() - tail.start - tail.period;
        let full_copies = tail.repeats >= self.min_repeats && tail.repeats * tail.period >= self.min_span;
        let long_unit_repeating = tail.period > self.min_match && repeated >= self.min_match;
        if full_copies || long_unit_repeating {
            let second_copy = step.prompt_len + tail.start + tail.period;
            let to_len = self.least_decided(step.tokens, second_copy);
            step.rewind(to_len, &[step.tokens[to_len]]);
        }
        Ok(())
    }

    fn accept(&mut self, _step: &mut Step<'_>, token: u32) -> Result<(), PluginError> {
        let Some(position) = self.pending.take() else { return Ok(()) };
        if let Some(margin) = choice_margin(&mut self.row, token as usize) {
            self.margins.push((position, margin));
        }
        Ok(())
    }

    /// Drops the records of the positions that were taken back: the rest
    /// were made from the same prefixes, so they are what a run that never
    /// went past `len` would hold.
    fn rollback(&mut self, len: usize) -> Result<Rollback, PluginError> {
        self.margins.retain(|&(position, _)| position < len);
        self.pending = None;
        Ok(Rollback::Done)
    }
}

impl LoopBreaker {
    /// Where to go back to in the stretch `from..` that repeats: the
    /// least decided choice (the first on ties, `from` when none is
    /// recorded) among the most specific candidates the stretch has.
    fn least_decided(&self, tokens: &[u32], from: usize) -> usize {
        let word = |position: usize| self.has_word.get(tokens[position] as usize).copied().unwrap_or(true);
        let line_start = |position: usize| {
            position > 0 && self.ends_in_line_break.get(tokens[position - 1] as usize).copied().unwrap_or(false)
        };
        // Words that start a line, then any word, then anything: banning a
        // `}` or `;` breaks the syntax without leaving the loop.
        let tiers: [&dyn Fn(usize) -> bool; 3] = [&|p| word(p) && line_start(p), &|p| word(p), &|_| true];
        let candidate = tiers.into_iter().find(|tier| (from..tokens.len()).any(tier)).unwrap_or(&|_| true);
        let first = self.margins.partition_point(|&(position, _)| position < from);
        let mut best: Option<(usize, f32)> = None;
        // Records past the sequence (a caller that shortened it without a
        // rollback) are not positions of this text.
        for &(position, margin) in self.margins[first..].iter().take_while(|&&(position, _)| position < tokens.len()) {
            if candidate(position) && best.is_none_or(|(_, least)| margin < least) {
                best = Some((position, margin));
            }
        }
        // With no record for any candidate: the first candidate.
        best.map_or_else(|| (from..tokens.len()).find(|&p| candidate(p)).unwrap_or(from), |(position, _)| position)
    }
}

/// The chosen token's logit minus the best other token's (`f32::MAX`
/// when no other token was live: a forced choice); `None` when the row
/// has no finite logit for the token (it was not a real choice). Uses the
/// row as scratch.
fn choice_margin(row: &mut [f32], chosen: usize) -> Option<f32> {
    let own = *row.get(chosen)?;
    if !own.is_finite() {
        return None;
    }
    row[chosen] = f32::NEG_INFINITY;
    Some(max_live(row).map_or(f32::MAX, |best_other| own - best_other))
}
