//! `top_k`: keeps the `k` most likely tokens.
//!
//! Same rule as Hugging Face `TopKLogitsWarper`: a token survives when its
//! logit is `>=` the k-th largest logit, so tokens tied with the k-th are
//! all kept (more than `k` may survive, never fewer than `min(k, live)`).
//! Tokens already removed by an earlier stage do not count towards `k`.

use logitloom_plugin_api::{
    LogitProcessor, ParamKind, ParamSpec, Params, PluginError, ProcessorInfo, Rollback, Setup, StageKind, Step,
};

use crate::row::{mask_below, KthLargest};

pub struct TopK {
    k: usize,
    kth: KthLargest,
}

impl LogitProcessor for TopK {
    /// Nothing to undo: every step works from the tokens it is shown
    /// (scratch buffers aside).
    fn rollback(&mut self, _len: usize) -> Result<Rollback, PluginError> {
        Ok(Rollback::Done)
    }

    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "top_k".into(),
            kind: StageKind::Processor,
            description: "Keep the k largest logits; ties with the k-th are kept (HF TopKLogitsWarper).".into(),
            params: vec![ParamSpec::new("k", ParamKind::int_at_least(1), None, "how many tokens to keep")],
            needs_raw_logits: false,
            needs_token_bytes: false,
            may_rewind: false,
        }
    }

    fn create(params: &Params, _setup: &Setup<'_>) -> Result<Self, PluginError> {
        let k = usize::try_from(params.int("k")).unwrap_or(usize::MAX);
        Ok(TopK { k, kth: KthLargest::default() })
    }

    fn process(&mut self, _step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        if self.k >= logits.len() {
            return Ok(());
        }
        if let Some(threshold) = self.kth.find(logits, self.k) {
            mask_below(logits, threshold);
        }
        Ok(())
    }
}
