//! `top_p` (nucleus sampling): keeps the smallest set of most likely tokens
//! whose probability mass reaches `p`.
//!
//! Semantics of Hugging Face `TopPLogitsWarper`: sorted best first, a token
//! is kept when the mass of the tokens ranked above it is still `< p`, so
//! the token that crosses `p` is kept; the `min_keep` best are always kept;
//! `p = 1` keeps everything. Where HF's order among tied logits is whatever
//! `torch.sort` returns, here every token tied with the last kept one is
//! kept too, so the result does not depend on sort order.
//!
//! ## Without sorting the vocabulary
//!
//! The normaliser needs one `exp` per live token; the cut needs only the
//! best few. The live entries are gathered into a scratch buffer, then the
//! best `chunk` of the not-yet-ranked part is moved to the front with
//! `select_nth_unstable_by` (linear), sorted, and accumulated; if the mass is
//! not reached the chunk grows fourfold. A peaked language-model distribution
//! needs one round; after a top-k stage the buffer holds only `k` entries.

use logitloom_plugin_api::{LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Setup, StageKind, Step};

use crate::dist::{best_first, is_live, mask_below};

/// First chunk of ranked tokens; covers p = 0.95 of a typical code model.
const FIRST_CHUNK: usize = 64;

pub struct TopP {
    p: f64,
    min_keep: usize,
    live: Vec<(f32, u32)>,
}

impl LogitProcessor for TopP {
    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "top_p".into(),
            kind: StageKind::Processor,
            description: "Nucleus: keep the fewest best tokens whose mass reaches p (HF TopPLogitsWarper).".into(),
            params: vec![
                ParamSpec::new(
                    "p",
                    ParamKind::Float { min: Some(0.0), max: Some(1.0), min_exclusive: true, max_exclusive: false },
                    None,
                    "probability mass to keep, in (0, 1]",
                ),
                ParamSpec::new("min_keep", ParamKind::int_at_least(1), Some(ParamValue::Int(1)), "always keep at least this many tokens"),
            ],
            needs_raw_logits: false,
            needs_token_bytes: false,
        }
    }

    fn create(params: &Params, _setup: &Setup<'_>) -> Result<Self, PluginError> {
        Ok(TopP {
            p: params.float("p"),
            min_keep: usize::try_from(params.int("min_keep")).unwrap_or(usize::MAX),
            live: Vec::new(),
        })
    }

    fn process(&mut self, _step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        if self.p >= 1.0 {
            return Ok(());
        }
        if let Some(threshold) = nucleus_threshold(logits, self.p, self.min_keep, &mut self.live) {
            mask_below(logits, threshold);
        }
        Ok(())
    }
}

/// The logit of the last token the nucleus keeps, or `None` when every live
/// token is kept.
pub(crate) fn nucleus_threshold(logits: &[f32], p: f64, min_keep: usize, live: &mut Vec<(f32, u32)>) -> Option<f32> {
    live.clear();
    let mut max = f32::NEG_INFINITY;
    for (i, &l) in logits.iter().enumerate() {
        if is_live(l) && !l.is_nan() {
            live.push((l, i as u32));
            max = max.max(l);
        }
    }
    if live.len() <= min_keep {
        return None;
    }
    // In id order (the buffer is still in id order here), so the normaliser
    // has the same bits on every platform.
    let total: f64 = live.iter().map(|&(l, _)| libm::expf(l - max) as f64).sum();
    let target = p * total;

    let mut ranked = 0;
    let mut chunk = FIRST_CHUNK;
    let mut mass = 0.0f64;
    while ranked < live.len() {
        let rest = &mut live[ranked..];
        let take = chunk.min(rest.len());
        if take < rest.len() {
            rest.select_nth_unstable_by(take - 1, best_first);
        }
        rest[..take].sort_unstable_by(best_first);
        for (j, &(l, _)) in rest[..take].iter().enumerate() {
            mass += libm::expf(l - max) as f64;
            if mass >= target && ranked + j + 1 >= min_keep {
                return Some(l);
            }
        }
        ranked += take;
        chunk = chunk.saturating_mul(4);
    }
    None
}
