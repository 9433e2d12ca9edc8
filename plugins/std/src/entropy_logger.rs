//! `entropy_logger`: records, per generated token, how uncertain the model
//! and the chain were. It never changes the logits.
//!
//! In `process` it measures the entropy (nats) of the model's distribution
//! (`softmax` of the raw logits, before any stage) and of the distribution
//! the stages before it left (`-inf` tokens have probability zero and are
//! skipped, so a heavily masked row still gives an exact, finite value), and
//! the `top_n` most likely alternatives. In `accept` it adds what was chosen
//! and emits one observation:
//!
//! ```json
//! {"pos": 57, "step": 3, "token": 198, "text": "\n", "logprob": -0.12,
//!  "raw_logprob": -0.31, "entropy_before": 2.1, "entropy_after": 0.9,
//!  "top": [{"token": 198, "text": "\n", "prob": 0.88}, ...]}
//! ```
//!
//! `pos` is the token's index in the whole sequence (prompt included);
//! `logprob` is under the post-chain distribution, `raw_logprob` under the
//! model's. `plot-entropy` reads these back.

use logitloom_plugin_api::{
    LogitProcessor, ParamKind, ParamSpec, ParamValue, Params, PluginError, ProcessorInfo, Rollback, Setup, StageKind,
    Step,
};
use serde_json::json;

use crate::row::{softmax, top_n, KthLargest};

pub struct EntropyLogger {
    top_n: usize,
    texts: Vec<u8>,
    offsets: Vec<u32>,
    pending: Option<Pending>,
    /// The rows `process` saw, kept for the chosen token's log-probabilities.
    after: Vec<f32>,
    raw: Vec<f32>,
    scratch: Vec<(f32, u32)>,
    kth: KthLargest,
}

struct Pending {
    /// Taken in `process`, where `tokens` certainly excludes the token
    /// being chosen, whatever the host has appended by `accept`.
    pos: usize,
    step: usize,
    entropy_before: Option<f64>,
    entropy_after: Option<f64>,
    lse_before: Option<f64>,
    lse_after: Option<f64>,
    top: serde_json::Value,
}

impl LogitProcessor for EntropyLogger {
    /// Only the observation being built for the current step is state.
    fn rollback(&mut self, _len: usize) -> Result<Rollback, PluginError> {
        self.pending = None;
        Ok(Rollback::Done)
    }

    fn info() -> ProcessorInfo {
        ProcessorInfo {
            name: "entropy_logger".into(),
            kind: StageKind::Processor,
            description: "Observe entropy before/after the chain, chosen token log-probs and top alternatives.".into(),
            params: vec![ParamSpec::new(
                "top_n",
                ParamKind::int_at_least(0),
                Some(ParamValue::Int(5)),
                "alternatives to record per token",
            )],
            needs_raw_logits: true,
            needs_token_bytes: true,
            may_rewind: false,
        }
    }

    fn create(params: &Params, setup: &Setup<'_>) -> Result<Self, PluginError> {
        let bytes = setup
            .token_bytes
            .ok_or_else(|| PluginError::new("entropy_logger needs the token texts, but the host passed none"))?;
        Ok(EntropyLogger {
            top_n: usize::try_from(params.int("top_n")).unwrap_or(usize::MAX),
            texts: bytes.data.to_vec(),
            offsets: bytes.offsets.to_vec(),
            pending: None,
            after: Vec::new(),
            raw: Vec::new(),
            scratch: Vec::new(),
            kth: KthLargest::default(),
        })
    }

    fn process(&mut self, step: &mut Step<'_>, logits: &mut [f32]) -> Result<(), PluginError> {
        let raw = step
            .raw_logits
            .ok_or_else(|| PluginError::new("entropy_logger needs the raw logits, but the host passed none"))?;
        let before = softmax(raw);
        // First in a chain (or after stages that changed nothing) the row
        // is still the model's: one pass over 50k tokens instead of two.
        let unchanged = crate::row::same_bits(raw, logits);
        let after = if unchanged { before } else { softmax(logits) };
        let lse_after = after.map(|s| s.log_z);
        let top: Vec<serde_json::Value> = top_n(logits, self.top_n, &mut self.kth, &mut self.scratch)
            .into_iter()
            .map(|(l, token)| {
                let prob = lse_after.map_or(0.0, |lse| libm::exp(l as f64 - lse));
                json!({ "token": token, "text": self.text(token), "prob": prob })
            })
            .collect();
        self.pending = Some(Pending {
            pos: step.tokens.len(),
            step: step.step,
            entropy_before: before.map(|s| s.entropy),
            entropy_after: after.map(|s| s.entropy),
            lse_before: before.map(|s| s.log_z),
            lse_after,
            top: serde_json::Value::Array(top),
        });
        self.after.clear();
        self.after.extend_from_slice(logits);
        self.raw.clear();
        self.raw.extend_from_slice(raw);
        Ok(())
    }

    fn accept(&mut self, step: &mut Step<'_>, token: u32) -> Result<(), PluginError> {
        let Some(p) = self.pending.take() else { return Ok(()) };
        let logprob = |row: &[f32], lse: Option<f64>| -> Option<f64> {
            let l = *row.get(token as usize)?;
            // A token the chain removed has log-probability -inf, which JSON
            // cannot hold: recorded as null.
            let lp = l as f64 - lse?;
            lp.is_finite().then_some(lp)
        };
        step.observe(json!({
            "pos": p.pos,
            "step": p.step,
            "token": token,
            "text": self.text(token),
            "logprob": logprob(&self.after, p.lse_after),
            "raw_logprob": logprob(&self.raw, p.lse_before),
            "entropy_before": p.entropy_before,
            "entropy_after": p.entropy_after,
            "top": p.top,
        }));
        Ok(())
    }
}

impl EntropyLogger {
    fn text(&self, token: u32) -> String {
        let table = logitloom_plugin_api::TokenBytes { data: &self.texts, offsets: &self.offsets };
        String::from_utf8_lossy(table.get(token as usize)).into_owned()
    }
}
