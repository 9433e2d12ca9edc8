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
//! One pass computes every live token's weight `exp(l - max)` and adds it
//! both to the normaliser and to a histogram bucket by distance from the
//! max (`BUCKETS_PER_NAT` buckets per nat). Walking the buckets from the
//! top finds the one in which the cumulative mass crosses `p`; only the
//! tokens of that bucket are gathered and sorted. Linear time, no
//! selection, and after a top-k stage only `k` tokens are visited at all.

use logitloom_plugin_api::{
    LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Rollback, Setup, StageKind,
    Step,
};

use crate::row::{best_first, gather_live, KthLargest};

/// Bucket width 1/8 nat: a bucket holds tokens whose probabilities differ by
/// under 13%, so the crossing bucket is small for any real distribution.
const BUCKETS_PER_NAT: f32 = 8.0;
/// Tokens more than 64 nats below the max (weight < 1.7e-28) share the last bucket.
const BUCKETS: usize = 64 * 8 + 1;

pub struct TopP {
    p: f64,
    min_keep: usize,
    nucleus: Nucleus,
    kth: KthLargest,
}

impl LogitProcessor for TopP {
    /// Nothing to undo: every step works from the tokens it is shown
    /// (scratch buffers aside).
    fn rollback(&mut self, _len: usize) -> Result<Rollback, PluginError> {
        Ok(Rollback::Done)
    }

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
        Ok(TopP {
            p: params.float("p"),
            min_keep: usize::try_from(params.int("min_keep")).unwrap_or(usize::MAX),
            nucleus: Nucleus::default(),
            kth: KthLargest::default(),
        })
    }

    fn process(&mut self, _step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        if self.p >= 1.0 {
            return Ok(());
        }
        let Some(mut threshold) = self.nucleus.threshold(logits, self.p) else { return Ok(()) };
        // Kept = nucleus ∪ the min_keep best: the lower of the two cut-offs.
        if self.min_keep > 1 {
            match self.kth.find(logits, self.min_keep) {
                Some(kth) => threshold = threshold.min(kth),
                None => return Ok(()),
            }
        }
        // Only live tokens can need removing, and the nucleus gathered them.
        for &(l, i) in &self.nucleus.live {
            if l < threshold {
                logits[i as usize] = f32::NEG_INFINITY;
            }
        }
        Ok(())
    }
}

/// Scratch for [`Nucleus::threshold`], reused across steps.
#[derive(Debug)]
struct Nucleus {
    /// The live `(logit, id)` pairs of the current row, in id order.
    live: Vec<(f32, u32)>,
    bucket_mass: Vec<f64>,
    crossing: Vec<(f32, u32)>,
}

impl Default for Nucleus {
    fn default() -> Self {
        Nucleus { live: Vec::new(), bucket_mass: vec![0.0; BUCKETS], crossing: Vec::new() }
    }
}

#[inline]
fn bucket(max: f32, l: f32) -> usize {
    // Monotone in `l` (subtraction, scaling and truncation all are), so a
    // lower bucket never holds a smaller logit than a higher one.
    (((max - l) * BUCKETS_PER_NAT) as usize).min(BUCKETS - 1)
}

impl Nucleus {
    /// The logit of the token at which the mass first reaches `p`, or `None`
    /// when nothing is live.
    fn threshold(&mut self, logits: &[f32], p: f64) -> Option<f32> {
        let max = gather_live(logits, &mut self.live)?;
        self.bucket_mass.iter_mut().for_each(|m| *m = 0.0);
        // Summed in id order: the same bits on every platform.
        let mut total = 0.0f64;
        for &(l, _) in &self.live {
            let w = crate::row::exp(l - max) as f64;
            total += w;
            self.bucket_mass[bucket(max, l)] += w;
        }
        let target = p * total;

        let mut above = 0.0f64;
        let mut crossing_bucket = BUCKETS - 1;
        for (b, &m) in self.bucket_mass.iter().enumerate() {
            if above + m >= target {
                crossing_bucket = b;
                break;
            }
            above += m;
        }

        self.crossing.clear();
        self.crossing.extend(self.live.iter().filter(|&&(l, _)| bucket(max, l) == crossing_bucket));
        self.crossing.sort_unstable_by(best_first);
        let mut mass = above;
        for &(l, _) in &self.crossing {
            mass += crate::row::exp(l - max) as f64;
            if mass >= target {
                return Some(l);
            }
        }
        // Rounding left the target a hair out of reach: keep the whole bucket.
        self.crossing.last().map(|&(l, _)| l)
    }
}
