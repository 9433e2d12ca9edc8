//! `min_p`: keeps tokens at least `p` times as likely as the most likely one.
//!
//! Semantics of Hugging Face `MinPLogitsWarper` (Nguyen et al., "Min P
//! Sampling", 2024): remove a token when `prob < p * max_prob`, but always
//! keep the `min_keep` best (ties with the last of those are kept too).
//!
//! `prob_i / max_prob = exp(l_i - max)`, so no normaliser is needed, and the
//! test is `l_i - max >= ln p` in logit space. Only tokens within a hair of
//! that boundary get the exact `exp` comparison, so the rule is exactly the
//! probability rule while costing one vector subtraction and compare per
//! four tokens.

use logitloom_plugin_api::{
    LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Rollback, Setup, StageKind,
    Step,
};

use crate::row::{cut_below_band, is_live, max_live, KthLargest, BLOCK};

/// Width (in logits) of the band around `ln p` decided with `exp`; far wider
/// than any rounding error of `ln p` or of the subtraction.
const EXACT_BAND: f32 = 1e-3;

pub struct MinP {
    p: f32,
    min_keep: usize,
    kth: KthLargest,
    /// First ids of the blocks with tokens in the exact band (reused).
    band_blocks: Vec<usize>,
}

impl LogitProcessor for MinP {
    /// Nothing to undo: every step works from the tokens it is shown
    /// (scratch buffers aside).
    fn rollback(&mut self, _len: usize) -> Result<Rollback, PluginError> {
        Ok(Rollback::Done)
    }

    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "min_p".into(),
            kind: StageKind::Processor,
            description: "Keep tokens with prob >= p * max_prob (HF MinPLogitsWarper).".into(),
            params: vec![
                ParamSpec::new(
                    "p",
                    ParamKind::float_in(0.0, 1.0),
                    None,
                    "fraction of the top probability a token needs, in [0, 1]",
                ),
                ParamSpec::new(
                    "min_keep",
                    ParamKind::int_at_least(1),
                    Some(ParamValue::Int(1)),
                    "always keep at least this many tokens",
                ),
            ],
            needs_raw_logits: false,
            needs_token_bytes: false,
            may_rewind: false,
        }
    }

    fn create(params: &Params, _setup: &Setup<'_>) -> Result<Self, PluginError> {
        Ok(MinP {
            p: params.float("p") as f32,
            min_keep: usize::try_from(params.int("min_keep")).unwrap_or(usize::MAX),
            kth: KthLargest::default(),
            band_blocks: Vec::new(),
        })
    }

    fn process(&mut self, _step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        if self.p <= 0.0 {
            return Ok(());
        }
        let Some(max) = max_live(logits) else { return Ok(()) };
        // Tokens at or above the min_keep-th best survive whatever p says.
        let keep_floor =
            if self.min_keep > 1 { self.kth.find(logits, self.min_keep).unwrap_or(f32::NEG_INFINITY) } else { max };
        let log_p = libm::logf(self.p);
        let (lo, hi) = (log_p - EXACT_BAND, log_p + EXACT_BAND);
        // Clear keeps and clear cuts in one vector pass; the rare tokens in
        // the band around ln p get the exact probability test.
        cut_below_band(logits, max, keep_floor, lo, hi, &mut self.band_blocks);
        for &first in &self.band_blocks {
            let end = (first + BLOCK).min(logits.len());
            for l in logits[first..end].iter_mut() {
                if !is_live(*l) || *l >= keep_floor {
                    continue;
                }
                let d = *l - max;
                if d >= lo && d <= hi && crate::row::exp(d) < self.p {
                    *l = f32::NEG_INFINITY;
                }
            }
        }
        Ok(())
    }
}
