//! The real generator: models from `logitloom-engine`, chains from
//! `logitloom-plugin-host`.
//!
//! Every chain gets an `entropy_logger` stage (no alternatives recorded)
//! just before its sampler unless it has one, so entropy is measured the
//! same way whatever the chain. The logger reports the model's own entropy
//! (`entropy_before`, before any stage) per token; that is the series the
//! collapse metrics use.
//!
//! Models and loaded chains are cached for the whole run; a model or chain
//! that fails to load is cached as its error, so each of its batches fails
//! at once with the same reason.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use logitloom_engine::generate::{ContextOverflow, Finish, GenerateOptions};
use logitloom_engine::{parse_device, Model};
use logitloom_plugin_host::{ChainSpec, HostOptions, LoadedChain, Observation, ParamValue, StageSpec};
use logitloom_runtime::generate_with_chain;

use crate::record::Generated;
use crate::runner::{BatchRequest, GenerateError, Generator};

const ENTROPY_STAGE: &str = "entropy_logger";

struct LoadedModel {
    model: Model,
    eos: u32,
}

#[derive(Default)]
pub struct EngineGenerator {
    // Rc: a libtorch model is neither Send nor Sync, and the generator
    // runs on one thread.
    models: HashMap<(PathBuf, String), Result<Rc<LoadedModel>, String>>,
    chains: HashMap<(PathBuf, String), Result<Arc<LoadedChain>, String>>,
}

impl EngineGenerator {
    pub fn new() -> Self {
        Self::default()
    }

    fn model(&mut self, request: &BatchRequest<'_>) -> Result<Rc<LoadedModel>, String> {
        let key = (request.model.dir.clone(), request.device.to_string());
        self.models
            .entry(key)
            .or_insert_with(|| {
                let device = parse_device(request.device).map_err(|e| e.to_string())?;
                let model = Model::load(&request.model.dir, device, tch::Kind::Float)
                    .map_err(|e| format!("cannot load model {}: {e}", request.model.dir.display()))?;
                let eos = model.tokenizer.eos_token_id().ok_or_else(|| {
                    format!("the tokenizer of {} has no <|endoftext|> token", request.model.dir.display())
                })?;
                Ok(Rc::new(LoadedModel { model, eos }))
            })
            .clone()
    }

    fn chain(&mut self, request: &BatchRequest<'_>) -> Result<Arc<LoadedChain>, String> {
        let key = (request.chain_base_dir.to_path_buf(), request.chain_config.to_string());
        self.chains
            .entry(key)
            .or_insert_with(|| {
                let origin = request.chain_origin.to_string();
                let spec = ChainSpec::from_toml_str(
                    request.chain_config,
                    &origin,
                    request.chain_base_dir,
                    &logitloom_runtime::builtins(),
                )
                .map_err(|e| e.to_string())?;
                let spec = with_entropy_logger(&spec).map_err(|e| format!("{origin}: {e}"))?;
                spec.load(&HostOptions::default()).map(Arc::new).map_err(|e| e.to_string())
            })
            .clone()
    }
}

/// The chain with an `entropy_logger` inserted before its sampler.
fn with_entropy_logger(spec: &ChainSpec) -> Result<ChainSpec, logitloom_plugin_host::ChainError> {
    let mut stages: Vec<StageSpec> = spec.stages().to_vec();
    if stages.iter().any(|s| s.plugin == ENTROPY_STAGE) {
        return Ok(spec.clone());
    }
    let sampler_at = stages.len().saturating_sub(1);
    stages.insert(sampler_at, StageSpec::builtin(ENTROPY_STAGE, [("top_n", ParamValue::Int(0))]));
    Ok(ChainSpec::from_stages(stages, &logitloom_runtime::builtins())?.with_rewind_budget(spec.rewind_budget()))
}

impl Generator for EngineGenerator {
    fn generate(&mut self, request: &BatchRequest<'_>) -> Result<Vec<Generated>, GenerateError> {
        let loaded = self.model(request).map_err(GenerateError)?;
        let chain = self.chain(request).map_err(GenerateError)?;
        let model = &loaded.model;
        let mut prompts = Vec::with_capacity(request.prompts.len());
        for prompt in &request.prompts {
            prompts.push(model.tokenizer.encode(prompt).map_err(|e| GenerateError(e.to_string()))?);
        }
        let options = GenerateOptions {
            max_new_tokens: request.max_new_tokens,
            eos_token_id: loaded.eos,
            stop_at_eos: true,
            overflow: ContextOverflow::Stop,
        };
        let (outputs, stats) = generate_with_chain(model, &chain, &prompts, &request.seeds, &options, &mut |_, _| {})
            .map_err(|e| GenerateError(e.to_string()))?;
        let prefill = stats.prefill_time.as_secs_f64();
        let decode = stats.decode_time.as_secs_f64();
        Ok(outputs
            .into_iter()
            .map(|sequence| {
                let mut tokens = sequence.output.tokens;
                if sequence.output.finish == Finish::Eos {
                    tokens.pop();
                }
                let (text, token_ends) = text_and_ends(&tokens, |t| model.tokenizer.token_bytes(t));
                let entropy = entropy_series(&sequence.observations, tokens.len());
                let stage_seconds: BTreeMap<String, f64> = sequence
                    .stage_times
                    .into_iter()
                    .filter(|(label, _)| label != ENTROPY_STAGE)
                    .map(|(label, time)| (label, time.as_secs_f64()))
                    .collect();
                Generated {
                    tokens,
                    text,
                    token_ends,
                    entropy,
                    finish: serde_json::to_value(sequence.output.finish)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    prefill_seconds: prefill,
                    decode_seconds: decode,
                    stage_seconds,
                    rewinds: sequence.output.rewinds,
                    discarded: sequence.output.discarded,
                    rollback_seconds: sequence.rollback_time.as_secs_f64(),
                }
            })
            .collect())
    }
}

/// The model's entropy at each generated position, from the logger's
/// observations (one per step, emitted on `accept`).
fn entropy_series(observations: &[Observation], len: usize) -> Vec<f32> {
    let mut series = vec![f32::NAN; len];
    for obs in observations {
        if obs.stage != ENTROPY_STAGE || obs.step >= len {
            continue;
        }
        let value =
            obs.record.get("entropy_before").or_else(|| obs.record.get("entropy_after")).and_then(|v| v.as_f64());
        if let Some(h) = value {
            series[obs.step] = h as f32;
        }
    }
    // A step without an observation (none expected) must not poison means.
    if series.iter().any(|h| h.is_nan()) {
        series.retain(|h| !h.is_nan());
    }
    series
}

/// The text of `tokens` and the byte offset in it where each token ends.
/// Bytes that are not valid UTF-8 (a character split across tokens at the
/// very end) become U+FFFD, which can change lengths; offsets are then
/// recomputed on the decoded prefixes so they stay inside the text.
fn text_and_ends<'a>(tokens: &[u32], bytes_of: impl Fn(u32) -> &'a [u8]) -> (String, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut ends = Vec::with_capacity(tokens.len());
    for &t in tokens {
        bytes.extend_from_slice(bytes_of(t));
        ends.push(bytes.len());
    }
    match String::from_utf8(bytes) {
        Ok(text) => (text, ends),
        Err(e) => {
            let bytes = e.into_bytes();
            let ends = ends.iter().map(|&end| String::from_utf8_lossy(&bytes[..end]).len()).collect();
            (String::from_utf8_lossy(&bytes).into_owned(), ends)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ends_follow_bytes_and_survive_split_characters() {
        let table: Vec<&[u8]> = vec![b"int", b" x", "é".as_bytes(), &[0xC3]];
        let (text, ends) = text_and_ends(&[0, 1, 2], |t| table[t as usize]);
        assert_eq!((text.as_str(), ends), ("int xé", vec![3, 5, 7]));
        let (text, ends) = text_and_ends(&[0, 3], |t| table[t as usize]);
        assert_eq!((text.as_str(), ends), ("int\u{FFFD}", vec![3, 6]));
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    fn plugins(spec: &ChainSpec) -> Vec<&str> {
        spec.stages().iter().map(|s| s.plugin.as_str()).collect()
    }

    #[test]
    fn entropy_logger_goes_just_before_the_sampler_once() {
        let text = "[[stage]]\nplugin = \"top_k\"\nk = 40\n[[stage]]\nplugin = \"multinomial\"\n";
        let spec =
            ChainSpec::from_toml_str(text, "test", std::path::Path::new("."), &logitloom_runtime::builtins()).unwrap();
        let with = with_entropy_logger(&spec).unwrap();
        assert_eq!(plugins(&with), ["top_k", "entropy_logger", "multinomial"]);
        assert_eq!(plugins(&with_entropy_logger(&with).unwrap()), ["top_k", "entropy_logger", "multinomial"]);
    }

    #[test]
    fn entropy_series_reads_the_models_entropy_per_step() {
        let obs = |stage: &str, step: usize, h: f64| Observation {
            stage: stage.into(),
            step,
            record: serde_json::json!({ "entropy_before": h, "entropy_after": 0.0 }),
        };
        let observations =
            [obs(ENTROPY_STAGE, 1, 2.5), obs("other", 0, 9.0), obs(ENTROPY_STAGE, 0, 1.5), obs(ENTROPY_STAGE, 7, 4.0)];
        // Step 7 lies past the two kept tokens (e.g. the EOS that was dropped).
        assert_eq!(entropy_series(&observations, 2), [1.5, 2.5]);
    }
}
