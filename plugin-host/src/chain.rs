//! A loaded chain and its per-sequence instances.

use std::sync::Arc;
use std::time::{Duration, Instant};

use logitloom_plugin_api::{ParamValue, ProcessorInfo, Setup, StageKind, TokenBytes};
use serde::Serialize;

use crate::config::ResolvedStage;
use crate::error::{HostError, StageFailure};
use crate::library::PluginLibrary;
use crate::logits_check::check_logits;
use crate::options::HostOptions;
use crate::runner::{Records, StageRunner, StepContext};

/// The byte string of every token, owned; lent to processors that declare
/// `needs_token_bytes`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedTokenBytes {
    pub data: Vec<u8>,
    /// `vocab_size + 1` offsets into `data`.
    pub offsets: Vec<u32>,
}

impl OwnedTokenBytes {
    pub fn from_tokens(tokens: &[Vec<u8>]) -> OwnedTokenBytes {
        let (data, offsets) = TokenBytes::flatten(tokens);
        OwnedTokenBytes { data, offsets }
    }
    pub fn view(&self) -> TokenBytes<'_> {
        TokenBytes { data: &self.data, offsets: &self.offsets }
    }
}

/// What one sequence's chain is created with.
#[derive(Clone, Debug)]
pub struct SequenceSetup {
    pub vocab_size: usize,
    pub eos_token_id: u32,
    /// Per-sequence seed for stochastic stages.
    pub seed: u64,
    /// Required when [`LoadedChain::needs_token_bytes`].
    pub token_bytes: Option<Arc<OwnedTokenBytes>>,
}

/// One record a stage observed at one step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Observation {
    /// The stage's label (see [`LoadedChain::stage_labels`]).
    pub stage: String,
    pub step: usize,
    pub record: serde_json::Value,
}

struct LoadedStage {
    label: String,
    library: PluginLibrary,
    index: usize,
    info: ProcessorInfo,
    params: std::collections::BTreeMap<String, ParamValue>,
    params_json: String,
}

/// A validated chain with its plugins loaded and compiled: cheap to
/// instantiate for every sequence, and shareable between threads.
pub struct LoadedChain {
    stages: Vec<LoadedStage>,
    check_logits: bool,
}

impl LoadedChain {
    pub(crate) fn new(stages: Vec<(PluginLibrary, ResolvedStage)>, opts: &HostOptions) -> LoadedChain {
        let mut seen: std::collections::HashMap<String, usize> = Default::default();
        let stages = stages
            .into_iter()
            .map(|(library, resolved)| {
                let info = library.processors()[resolved.index].clone();
                let count = seen.entry(info.name.clone()).or_insert(0);
                *count += 1;
                let label = if *count == 1 { info.name.clone() } else { format!("{}#{}", info.name, count) };
                let params = resolved.params.as_map().clone();
                let params_json = serde_json::to_string(&params).expect("parameter values always serialise");
                LoadedStage { label, library, index: resolved.index, info, params, params_json }
            })
            .collect();
        LoadedChain { stages, check_logits: opts.check_logits }
    }

    /// One label per stage: the processor name, with `#2`, `#3`... on
    /// repeats. Observations and stage times use these.
    pub fn stage_labels(&self) -> Vec<String> {
        self.stages.iter().map(|s| s.label.clone()).collect()
    }

    /// Whether [`SequenceSetup::token_bytes`] must be given.
    pub fn needs_token_bytes(&self) -> bool {
        self.stages.iter().any(|s| s.info.needs_token_bytes)
    }

    /// The processors, in chain order.
    pub fn stage_infos(&self) -> Vec<&ProcessorInfo> {
        self.stages.iter().map(|s| &s.info).collect()
    }

    /// Creates every stage's processor for one sequence.
    pub fn instantiate(&self, setup: &SequenceSetup) -> Result<ChainInstance, HostError> {
        let mut running = Vec::with_capacity(self.stages.len());
        for (i, stage) in self.stages.iter().enumerate() {
            let create_error = |failure| HostError::Create {
                stage: i + 1,
                name: stage.info.name.clone(),
                plugin: stage.library.describe(),
                failure,
            };
            let token_bytes = match (&setup.token_bytes, stage.info.needs_token_bytes) {
                (_, false) => None,
                (Some(tb), true) => Some(tb.view()),
                (None, true) => {
                    return Err(create_error(StageFailure::Error(
                        "it needs the vocabulary's token bytes, but the sequence setup has none".into(),
                    )))
                }
            };
            let plugin_setup = Setup {
                vocab_size: setup.vocab_size,
                eos_token_id: setup.eos_token_id,
                seed: setup.seed,
                token_bytes,
            };
            let runner =
                stage.library.create(stage.index, &stage.params, &stage.params_json, &plugin_setup).map_err(create_error)?;
            running.push(RunningStage {
                number: i + 1,
                label: stage.label.clone(),
                name: stage.info.name.clone(),
                plugin: stage.library.describe(),
                kind: stage.info.kind,
                runner,
                time: Duration::ZERO,
            });
        }
        let needs_raw = self.stages.iter().any(|s| s.info.needs_raw_logits);
        Ok(ChainInstance {
            stages: running,
            vocab_size: setup.vocab_size,
            eos_token_id: setup.eos_token_id,
            check_logits: self.check_logits,
            raw_logits: if needs_raw { vec![0.0; setup.vocab_size] } else { Vec::new() },
            needs_raw,
            records: Vec::new(),
            observations: Vec::new(),
            failed: None,
        })
    }
}

struct RunningStage {
    number: usize,
    label: String,
    name: String,
    plugin: String,
    kind: StageKind,
    runner: Box<dyn StageRunner>,
    time: Duration,
}

impl RunningStage {
    fn failed(&self, step: usize, failure: StageFailure) -> HostError {
        HostError::Stage { stage: self.number, name: self.name.clone(), plugin: self.plugin.clone(), step, failure }
    }
}

/// One sequence's chain: every stage's per-sequence state.
pub struct ChainInstance {
    stages: Vec<RunningStage>,
    vocab_size: usize,
    eos_token_id: u32,
    check_logits: bool,
    raw_logits: Vec<f32>,
    needs_raw: bool,
    records: Records,
    observations: Vec<Observation>,
    failed: Option<String>,
}

impl ChainInstance {
    /// Runs every processor stage in order, then the sampler, then
    /// `accept` on every stage; returns the chosen token.
    ///
    /// `tokens` is prompt + generated so far, `logits` the model's row
    /// (modified in place). After an error the instance refuses further
    /// steps: a stage's state may be half-updated.
    pub fn step(&mut self, tokens: &[u32], prompt_len: usize, step: usize, logits: &mut [f32]) -> Result<u32, HostError> {
        if let Some(reason) = &self.failed {
            return Err(HostError::Poisoned(reason.clone()));
        }
        let result = self.run_step(tokens, prompt_len, step, logits);
        if let Err(e) = &result {
            self.failed = Some(e.to_string());
        }
        result
    }

    fn run_step(&mut self, tokens: &[u32], prompt_len: usize, step: usize, logits: &mut [f32]) -> Result<u32, HostError> {
        if logits.len() != self.vocab_size {
            return Err(HostError::VocabMismatch { expected: self.vocab_size, got: logits.len() });
        }
        if self.check_logits {
            check_logits(logits).map_err(|message| HostError::InputLogits { step, message })?;
        }
        if self.needs_raw {
            self.raw_logits.copy_from_slice(logits);
        }
        let ctx = StepContext {
            tokens,
            prompt_len,
            step,
            vocab_size: self.vocab_size,
            eos_token_id: self.eos_token_id,
            raw_logits: self.needs_raw.then_some(&self.raw_logits[..]),
        };
        let (sampler, processors) = self.stages.split_last_mut().expect("a loaded chain has a sampler stage");
        for stage in processors.iter_mut() {
            debug_assert_eq!(stage.kind, StageKind::Processor);
            let started = Instant::now();
            let result = stage.runner.process(&ctx, logits, &mut self.records);
            stage.time += started.elapsed();
            collect(&mut self.observations, &mut self.records, &stage.label, step);
            result.map_err(|f| stage.failed(step, f))?;
            if self.check_logits {
                check_logits(logits).map_err(|m| stage.failed(step, StageFailure::InvalidLogits(m)))?;
            }
        }
        let started = Instant::now();
        let token = sampler.runner.sample(&ctx, logits, &mut self.records);
        sampler.time += started.elapsed();
        collect(&mut self.observations, &mut self.records, &sampler.label, step);
        let token = token.map_err(|f| sampler.failed(step, f))?;
        if token as usize >= self.vocab_size {
            return Err(sampler.failed(step, StageFailure::TokenOutOfRange { token: token.into(), vocab_size: self.vocab_size }));
        }
        for stage in self.stages.iter_mut() {
            let started = Instant::now();
            let result = stage.runner.accept(&ctx, token, &mut self.records);
            stage.time += started.elapsed();
            collect(&mut self.observations, &mut self.records, &stage.label, step);
            result.map_err(|f| stage.failed(step, f))?;
        }
        Ok(token)
    }

    /// Observations recorded since the last call.
    pub fn take_observations(&mut self) -> Vec<Observation> {
        std::mem::take(&mut self.observations)
    }

    /// Time spent in each stage so far (process/sample plus accept).
    pub fn stage_times(&self) -> Vec<(String, Duration)> {
        self.stages.iter().map(|s| (s.label.clone(), s.time)).collect()
    }
}

/// Moves a call's records into the observation list; a record that is not
/// JSON is kept as a string rather than dropped.
fn collect(observations: &mut Vec<Observation>, records: &mut Records, stage: &str, step: usize) {
    for record in records.drain(..) {
        let record = serde_json::from_str(&record).unwrap_or(serde_json::Value::String(record));
        observations.push(Observation { stage: stage.to_string(), step, record });
    }
}
