//! Scoring a text: the log-probability the model gives each actual next
//! token and the entropy of its full next-token distribution.

use serde::Serialize;
use tch::{Kind, Tensor};

use crate::{EngineError, Gpt2};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TokenScore {
    /// Index of the predicted token in the text's token sequence.
    pub pos: usize,
    pub token: u32,
    /// Natural log-probability of `token` given everything before it.
    pub logprob: f64,
    /// Entropy (nats) of the predicted distribution at this position.
    pub entropy: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScoreSummary {
    pub tokens: usize,
    pub mean_loss: f64,
    pub perplexity: f64,
}

/// Scores every token after the first. Texts longer than the context are
/// scored with a sliding window of stride `n_positions / 2`, so every
/// prediction after the first window still sees at least half a context.
pub fn score_tokens(gpt: &Gpt2, ids: &[u32]) -> Result<Vec<TokenScore>, EngineError> {
    let _guard = tch::no_grad_guard();
    let context = gpt.config.n_positions;
    let stride = (context / 2).max(1);
    let mut scores = Vec::with_capacity(ids.len().saturating_sub(1));
    let mut next_target = 1;
    let mut begin = 0;
    while next_target < ids.len() {
        let end = (begin + context).min(ids.len());
        let window: Vec<i64> = ids[begin..end].iter().map(|&t| t as i64).collect();
        let idx = Tensor::from_slice(&window).view([1, window.len() as i64]).to_device(gpt.device());
        let logp = gpt.forward_train(&idx, false).squeeze_dim(0).to_kind(Kind::Float).log_softmax(-1, Kind::Float);
        let entropy = -(logp.exp() * &logp).sum_dim_intlist(-1, false, Kind::Float);
        let logp_cpu = logp.to_device(tch::Device::Cpu);
        let entropy: Vec<f32> = Vec::try_from(entropy.to_device(tch::Device::Cpu))?;
        for (target, &token) in ids.iter().enumerate().take(end).skip(next_target) {
            let row = (target - 1 - begin) as i64;
            scores.push(TokenScore {
                pos: target,
                token,
                logprob: logp_cpu.double_value(&[row, token as i64]),
                entropy: entropy[row as usize] as f64,
            });
        }
        next_target = end;
        begin += stride;
    }
    Ok(scores)
}

pub fn summarize(scores: &[TokenScore]) -> ScoreSummary {
    let n = scores.len();
    let mean_loss = if n == 0 { 0.0 } else { -scores.iter().map(|s| s.logprob).sum::<f64>() / n as f64 };
    ScoreSummary { tokens: n, mean_loss, perplexity: mean_loss.exp() }
}
