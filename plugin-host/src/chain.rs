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
            input: Vec::new(),
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
    /// The host-side row behind [`ChainInstance::input_row`] when the first
    /// stage does not keep a row of its own; allocated on first use.
    input: Vec<f32>,
    records: Records,
    observations: Vec<Observation>,
    failed: Option<String>,
}

/// Where the step's logits row is right now. A WASM stage can only read its
/// own memory, so the row moves into it; every other stage reads host
/// memory, which includes a module's memory, so the row stays where it is.
/// A chain with WASM stages thus copies the row once per change of module,
/// not twice per WASM stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RowAt {
    /// The host slice the step was given.
    Host,
    /// Stage `i`'s own buffer ([`StageRunner::own_row`]).
    Stage(usize),
}

/// The row wherever it is: `host`, or the buffer of the stage holding it.
fn row_at<'a>(stages: &'a mut [RunningStage], host: &'a mut [f32], at: RowAt) -> &'a mut [f32] {
    match at {
        RowAt::Host => host,
        RowAt::Stage(j) => stages[j].runner.own_row().expect("the row only moves into stages that keep one"),
    }
}

impl ChainInstance {
    /// Runs every processor stage in order, then the sampler, then
    /// `accept` on every stage; returns the chosen token.
    ///
    /// `tokens` is prompt + generated so far, `logits` the model's row; on
    /// return it holds the row as the chain left it (copied back out of a
    /// WASM module if the last stages ran there). After an error the
    /// instance refuses further steps: a stage's state may be half-updated.
    pub fn step(&mut self, tokens: &[u32], prompt_len: usize, step: usize, logits: &mut [f32]) -> Result<u32, HostError> {
        self.guarded(|chain| {
            if logits.len() != chain.vocab_size {
                return Err(HostError::VocabMismatch { expected: chain.vocab_size, got: logits.len() });
            }
            let (token, at) = chain.run_step(tokens, prompt_len, step, logits, RowAt::Host)?;
            if at != RowAt::Host {
                logits.copy_from_slice(row_at(&mut chain.stages, &mut [], at));
            }
            Ok(token)
        })
    }

    /// Where the next step's logits row should be written before
    /// [`step_input_row`](Self::step_input_row): inside the first stage's
    /// memory when that stage is a WASM module, so the row reaches it with
    /// no copy beyond the one that fills this buffer; otherwise a buffer of
    /// the chain's own.
    pub fn input_row(&mut self) -> &mut [f32] {
        let vocab_size = self.vocab_size;
        match self.stages[0].runner.own_row() {
            Some(row) => row,
            None => {
                self.input.resize(vocab_size, 0.0);
                &mut self.input
            }
        }
    }

    /// [`step`](Self::step) on the row written into
    /// [`input_row`](Self::input_row). What the chain leaves in its buffers
    /// is not copied anywhere: only the token comes out.
    pub fn step_input_row(&mut self, tokens: &[u32], prompt_len: usize, step: usize) -> Result<u32, HostError> {
        self.guarded(|chain| {
            let mut input = std::mem::take(&mut chain.input);
            let start = if chain.stages[0].runner.own_row().is_some() { RowAt::Stage(0) } else { RowAt::Host };
            if start == RowAt::Host && input.len() != chain.vocab_size {
                // input_row was never called: there is no row to run on.
                input.resize(chain.vocab_size, f32::NEG_INFINITY);
            }
            let result = chain.run_step(tokens, prompt_len, step, &mut input, start).map(|(token, _)| token);
            chain.input = input;
            result
        })
    }

    /// Runs `body`, then poisons the instance if it failed.
    fn guarded(&mut self, body: impl FnOnce(&mut Self) -> Result<u32, HostError>) -> Result<u32, HostError> {
        if let Some(reason) = &self.failed {
            return Err(HostError::Poisoned(reason.clone()));
        }
        let result = body(self);
        if let Err(e) = &result {
            self.failed = Some(e.to_string());
        }
        result
    }

    /// One step on a row that starts at `start` (`host` when `RowAt::Host`);
    /// returns the token and where the row ended up.
    fn run_step(
        &mut self,
        tokens: &[u32],
        prompt_len: usize,
        step: usize,
        host: &mut [f32],
        start: RowAt,
    ) -> Result<(u32, RowAt), HostError> {
        let mut at = start;
        {
            let row = row_at(&mut self.stages, host, at);
            if self.check_logits {
                check_logits(row).map_err(|message| HostError::InputLogits { step, message })?;
            }
            if self.needs_raw {
                self.raw_logits.copy_from_slice(row);
            }
        }
        let ctx = StepContext {
            tokens,
            prompt_len,
            step,
            vocab_size: self.vocab_size,
            eos_token_id: self.eos_token_id,
            raw_logits: self.needs_raw.then_some(&self.raw_logits[..]),
        };
        let last = self.stages.len() - 1;
        let mut token = 0;
        for i in 0..=last {
            let is_sampler = i == last;
            debug_assert_eq!(self.stages[i].kind, if is_sampler { StageKind::Sampler } else { StageKind::Processor });
            let started = Instant::now();
            let keeps_own_row = self.stages[i].runner.own_row().is_some();
            if keeps_own_row && at != RowAt::Stage(i) {
                move_row(&mut self.stages, host, at, i);
                at = RowAt::Stage(i);
            }
            let records = &mut self.records;
            let result = if keeps_own_row {
                let stage = &mut self.stages[i];
                if is_sampler {
                    stage.runner.sample_own_row(&ctx, records)
                } else {
                    stage.runner.process_own_row(&ctx, records).map(|()| 0)
                }
            } else {
                // The stage running and the stage holding the row (if any)
                // are different entries: split the borrow between them.
                let (stage, row) = match at {
                    RowAt::Host => (&mut self.stages[i], &mut *host),
                    RowAt::Stage(j) => {
                        let (stage, holder) = two_stages(&mut self.stages, i, j);
                        (stage, holder.runner.own_row().expect("the row only moves into stages that keep one"))
                    }
                };
                if is_sampler {
                    stage.runner.sample(&ctx, row, records)
                } else {
                    stage.runner.process(&ctx, row, records).map(|()| 0)
                }
            };
            let stage = &mut self.stages[i];
            stage.time += started.elapsed();
            collect(&mut self.observations, &mut self.records, &stage.label, step);
            let value = result.map_err(|f| stage.failed(step, f))?;
            if is_sampler {
                token = value;
            } else if self.check_logits {
                let row = row_at(&mut self.stages, host, at);
                if let Err(m) = check_logits(row) {
                    return Err(self.stages[i].failed(step, StageFailure::InvalidLogits(m)));
                }
            }
        }
        let sampler = &self.stages[last];
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
        Ok((token, at))
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

/// Copies the row from where it is into stage `to`'s own buffer.
fn move_row(stages: &mut [RunningStage], host: &[f32], from: RowAt, to: usize) {
    match from {
        RowAt::Host => stages[to].runner.own_row().expect("checked by the caller").copy_from_slice(host),
        RowAt::Stage(j) => {
            let (target, holder) = two_stages(stages, to, j);
            let source = holder.runner.own_row().expect("the row only moves into stages that keep one");
            target.runner.own_row().expect("checked by the caller").copy_from_slice(source);
        }
    }
}

/// `&mut stages[a]` and `&mut stages[b]` at once (`a != b`).
fn two_stages(stages: &mut [RunningStage], a: usize, b: usize) -> (&mut RunningStage, &mut RunningStage) {
    assert_ne!(a, b, "a stage never reads the row from itself through the host");
    if a < b {
        let (left, right) = stages.split_at_mut(b);
        (&mut left[a], &mut right[0])
    } else {
        let (left, right) = stages.split_at_mut(a);
        (&mut right[0], &mut left[b])
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
