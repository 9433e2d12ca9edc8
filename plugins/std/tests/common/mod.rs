//! Drives one processor the way the host does, on tiny hand-made rows.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;

use logitloom_plugin_api::{create_validated, LogitProcessor, ParamValue, PluginError, Setup, Step, TokenBytes};

pub const NEG: f32 = f32::NEG_INFINITY;

pub fn params(pairs: &[(&str, ParamValue)]) -> BTreeMap<String, ParamValue> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

pub fn float(x: f64) -> ParamValue {
    ParamValue::Float(x)
}
pub fn int(x: i64) -> ParamValue {
    ParamValue::Int(x)
}

/// Creates `P` for a vocabulary whose token `i` has text `texts[i]`.
pub fn create<P: LogitProcessor>(given: &[(&str, ParamValue)], texts: &[&str], seed: u64) -> Result<P, PluginError> {
    let owned: Vec<Vec<u8>> = texts.iter().map(|t| t.as_bytes().to_vec()).collect();
    let (data, offsets) = TokenBytes::flatten(&owned);
    let setup = Setup {
        vocab_size: texts.len(),
        eos_token_id: 0,
        seed,
        token_bytes: Some(TokenBytes { data: &data, offsets: &offsets }),
    };
    create_validated::<P>(&params(given), &setup)
}

/// Texts "t0", "t1", … for tests that do not care about them.
pub fn plain_texts(vocab: usize) -> Vec<String> {
    (0..vocab).map(|i| format!("t{i}")).collect()
}

/// Runs `process` once on `logits` with the given history and returns the row.
pub fn process<P: LogitProcessor>(p: &mut P, tokens: &[u32], prompt_len: usize, logits: &[f32]) -> Vec<f32> {
    let mut row = logits.to_vec();
    let mut step = Step::new(tokens, prompt_len, tokens.len() - prompt_len, row.len(), 0, None);
    p.process(&mut step, &mut row).unwrap();
    row
}

/// Creates with plain texts and processes once.
pub fn apply<P: LogitProcessor>(
    given: &[(&str, ParamValue)],
    tokens: &[u32],
    prompt_len: usize,
    logits: &[f32],
) -> Vec<f32> {
    let texts = plain_texts(logits.len());
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut p = create::<P>(given, &refs, 0).unwrap();
    process(&mut p, tokens, prompt_len, logits)
}

/// Which tokens are still alive.
pub fn kept(row: &[f32]) -> Vec<usize> {
    row.iter().enumerate().filter(|(_, l)| **l != NEG).map(|(i, _)| i).collect()
}

/// `ln` of each probability: a row whose softmax is exactly `probs` (up to
/// rounding), for writing expectations in probabilities.
pub fn logits_of(probs: &[f64]) -> Vec<f32> {
    probs.iter().map(|p| if *p == 0.0 { NEG } else { p.ln() as f32 }).collect()
}
