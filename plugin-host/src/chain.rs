//! A loaded chain and its per-sequence instances.

use std::sync::Arc;
use std::time::{Duration, Instant};

use logitloom_plugin_api::{ParamValue, ProcessorInfo, RewindRequest, Rollback, Setup, StageKind, TokenBytes};
use serde::Serialize;

use crate::error::{HostError, StageFailure};
use crate::library::PluginLibrary;
use crate::limits::{parse_record, ObserveBudget, ObserveLimits};
use crate::logits_check::check_logits;
use crate::options::HostOptions;
use crate::origin::PluginOrigin;
use crate::runner::{Records, StageRunner, StepContext};
use crate::stage::{ResolvedStage, RewindBudget};

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

/// What it takes to create a stage's processor for a sequence: kept by
/// every instance too, so a stage that cannot roll back can be re-created.
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
    stages: Vec<Arc<LoadedStage>>,
    check_logits: bool,
    rewind: RewindBudget,
    observe: ObserveLimits,
}

impl LoadedStage {
    fn create(&self, setup: &SequenceSetup, observe: ObserveLimits) -> Result<Box<dyn StageRunner>, StageFailure> {
        let token_bytes = match (&setup.token_bytes, self.info.needs_token_bytes) {
            (_, false) => None,
            (Some(tb), true) => Some(tb.view()),
            (None, true) => {
                return Err(StageFailure::Error(
                    "it needs the vocabulary's token bytes, but the sequence setup has none".into(),
                ))
            }
        };
        let plugin_setup =
            Setup { vocab_size: setup.vocab_size, eos_token_id: setup.eos_token_id, seed: setup.seed, token_bytes };
        self.library.create(self.index, &self.params, &self.params_json, &plugin_setup, observe)
    }
}

impl LoadedChain {
    pub(crate) fn new(
        stages: Vec<(PluginLibrary, ResolvedStage)>,
        opts: &HostOptions,
        rewind: RewindBudget,
        observe: ObserveLimits,
    ) -> LoadedChain {
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
                Arc::new(LoadedStage { label, library, index: resolved.index, info, params, params_json })
            })
            .collect();
        LoadedChain { stages, check_logits: opts.check_logits, rewind, observe }
    }

    /// Each sequence's rewind budget (chain file, `[rewind]`).
    pub fn rewind_budget(&self) -> RewindBudget {
        self.rewind
    }

    /// Whether any stage may ask to rewind (declares `may_rewind`): only
    /// then can text already chosen be taken back.
    pub fn may_rewind(&self) -> bool {
        self.stages.iter().any(|s| s.info.may_rewind) && self.rewind.max_rewinds > 0
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
            let runner = stage.create(setup, self.observe).map_err(|failure| HostError::Create {
                stage: i + 1,
                name: stage.info.name.clone(),
                plugin: stage.library.origin(),
                failure: failure.bounded(),
            })?;
            running.push(RunningStage {
                recipe: Arc::clone(stage),
                number: i + 1,
                label: stage.label.clone(),
                name: stage.info.name.clone(),
                plugin: stage.library.origin(),
                kind: stage.info.kind,
                runner,
                time: Duration::ZERO,
                observed: ObserveBudget::new(self.observe),
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
            records: Records::default(),
            observations: Vec::new(),
            failed: None,
            setup: setup.clone(),
            rewinds: RewindState { budget: self.rewind, ..Default::default() },
        })
    }
}

struct RunningStage {
    recipe: Arc<LoadedStage>,
    number: usize,
    label: String,
    name: String,
    plugin: PluginOrigin,
    kind: StageKind,
    runner: Box<dyn StageRunner>,
    time: Duration,
    /// This step's observations so far, against the chain's limits.
    observed: ObserveBudget,
}

impl RunningStage {
    fn failed(&self, step: usize, failure: StageFailure) -> HostError {
        HostError::Stage {
            stage: self.number,
            name: self.name.clone(),
            plugin: self.plugin.clone(),
            step,
            failure: failure.bounded(),
        }
    }

    /// Moves a call's records into the observation list, refusing any that
    /// break the limits or are not JSON (WASM records were already checked
    /// as they were made; native and built-in ones are checked here).
    fn collect(
        &mut self,
        observations: &mut Vec<Observation>,
        records: &mut Vec<String>,
        step: usize,
    ) -> Result<(), StageFailure> {
        self.observed.at_step(step);
        let mut refused = None;
        for record in records.drain(..) {
            if refused.is_some() {
                continue;
            }
            match self.observed.admit(record.len()).and_then(|()| parse_record(record.as_bytes())) {
                Ok(record) => observations.push(Observation { stage: self.label.clone(), step, record }),
                Err(message) => refused = Some(StageFailure::Error(message)),
            }
        }
        refused.map_or(Ok(()), Err)
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
    /// Kept to re-create stages that cannot roll back.
    setup: SequenceSetup,
    rewinds: RewindState,
}

/// What the chain decided at one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The token chosen at this step.
    Token(u32),
    /// A stage's rewind was granted: the chain has already rolled every
    /// stage back to `to_len` tokens; the caller drops the tokens from
    /// `to_len` on, truncates the sequence's KV cache to match and asks
    /// for position `to_len` again.
    Rewind { to_len: usize },
}

/// One rewind request, granted or refused: what `--trace` records.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RewindEvent {
    /// The step (generated position) at which it was asked.
    pub step: usize,
    /// The label of the stage that asked.
    pub stage: String,
    /// The sequence's length when it was asked (prompt included).
    pub from_len: usize,
    pub to_len: usize,
    /// Tokens banned at `to_len` when generation resumes there: this
    /// request's and those of earlier rewinds to the same place.
    pub ban: Vec<u32>,
    /// Tokens dropped (a token chosen at this step counts).
    pub discarded: usize,
    pub granted: bool,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// One sequence's rewinds so far.
#[derive(Default)]
struct RewindState {
    budget: RewindBudget,
    granted: usize,
    discarded: usize,
    /// Bans granted so far, by (position, hash of the prefix before it):
    /// a request that adds no ban to its place is a repeat, refused, which
    /// is what makes every generation end.
    banned: std::collections::HashMap<(usize, u64), Vec<u32>>,
    /// Bans for the next choice, at this length.
    pending_ban: Option<(usize, Vec<u32>)>,
    events: Vec<RewindEvent>,
    /// Time spent rolling stages back.
    rollback_time: Duration,
}

/// Rewind totals of one sequence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RewindTotals {
    pub granted: usize,
    pub refused: usize,
    pub discarded: usize,
}

/// FNV-1a over token ids: tells apart the prefixes that lead to one
/// position, for the no-repeat rule.
fn prefix_hash(tokens: &[u32]) -> u64 {
    logitloom_numerics::fnv1a_u32s(tokens)
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
    ///
    /// Rewind requests are refused (and traced): this is the call for
    /// callers that cannot go back. [`decide`](Self::decide) is the one
    /// that can.
    pub fn step(
        &mut self,
        tokens: &[u32],
        prompt_len: usize,
        step: usize,
        logits: &mut [f32],
    ) -> Result<u32, HostError> {
        match self.decide_impl(tokens, prompt_len, step, logits, false)? {
            Decision::Token(token) => Ok(token),
            Decision::Rewind { .. } => unreachable!("rewinds are refused when the caller cannot rewind"),
        }
    }

    /// [`step`](Self::step) for a caller that can rewind: a granted rewind
    /// comes back as [`Decision::Rewind`], with every stage already rolled
    /// back.
    pub fn decide(
        &mut self,
        tokens: &[u32],
        prompt_len: usize,
        step: usize,
        logits: &mut [f32],
    ) -> Result<Decision, HostError> {
        self.decide_impl(tokens, prompt_len, step, logits, true)
    }

    fn decide_impl(
        &mut self,
        tokens: &[u32],
        prompt_len: usize,
        step: usize,
        logits: &mut [f32],
        can_rewind: bool,
    ) -> Result<Decision, HostError> {
        self.guarded(|chain| {
            if logits.len() != chain.vocab_size {
                return Err(HostError::VocabMismatch { expected: chain.vocab_size, got: logits.len() });
            }
            let (outcome, at) = chain.run_step(tokens, prompt_len, step, logits, RowAt::Host, can_rewind)?;
            if at != RowAt::Host {
                logits.copy_from_slice(row_at(&mut chain.stages, &mut [], at));
            }
            Ok(outcome)
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
    /// Rewinds are refused, as in [`step`](Self::step).
    pub fn step_input_row(&mut self, tokens: &[u32], prompt_len: usize, step: usize) -> Result<u32, HostError> {
        match self.decide_input_row_impl(tokens, prompt_len, step, false)? {
            Decision::Token(token) => Ok(token),
            Decision::Rewind { .. } => unreachable!("rewinds are refused when the caller cannot rewind"),
        }
    }

    /// [`decide`](Self::decide) on the row written into
    /// [`input_row`](Self::input_row).
    pub fn decide_input_row(&mut self, tokens: &[u32], prompt_len: usize, step: usize) -> Result<Decision, HostError> {
        self.decide_input_row_impl(tokens, prompt_len, step, true)
    }

    fn decide_input_row_impl(
        &mut self,
        tokens: &[u32],
        prompt_len: usize,
        step: usize,
        can_rewind: bool,
    ) -> Result<Decision, HostError> {
        self.guarded(|chain| {
            let mut input = std::mem::take(&mut chain.input);
            let start = if chain.stages[0].runner.own_row().is_some() { RowAt::Stage(0) } else { RowAt::Host };
            if start == RowAt::Host && input.len() != chain.vocab_size {
                // input_row was never called: there is no row to run on.
                input.resize(chain.vocab_size, f32::NEG_INFINITY);
            }
            let result =
                chain.run_step(tokens, prompt_len, step, &mut input, start, can_rewind).map(|(outcome, _)| outcome);
            chain.input = input;
            result
        })
    }

    /// Rolls every stage back to `to_len` tokens of `tokens` (prompt
    /// included), as a granted rewind does: stages that implement
    /// `rollback` restore themselves, the others are re-created and replay
    /// `accept` over `tokens[prompt_len..to_len]`. For callers that rewind
    /// on their own (tests, servers that cancel a speculative tail).
    pub fn rewind_to(&mut self, tokens: &[u32], prompt_len: usize, to_len: usize) -> Result<(), HostError> {
        self.guarded(|chain| {
            if to_len < prompt_len || to_len > tokens.len() {
                return Err(HostError::Rewind(format!(
                    "cannot rewind to {to_len} tokens: the prompt has {prompt_len} and the sequence {}",
                    tokens.len()
                )));
            }
            chain.roll_back(tokens, prompt_len, to_len)?;
            Ok(Decision::Rewind { to_len })
        })
        .map(drop)
    }

    /// Every rewind request so far, granted or refused.
    pub fn rewind_events(&self) -> &[RewindEvent] {
        &self.rewinds.events
    }

    /// Granted and refused rewinds and tokens discarded so far.
    pub fn rewind_totals(&self) -> RewindTotals {
        RewindTotals {
            granted: self.rewinds.granted,
            refused: self.rewinds.events.iter().filter(|e| !e.granted).count(),
            discarded: self.rewinds.discarded,
        }
    }

    /// Time spent rolling stages back (part of the stages' times too).
    pub fn rollback_time(&self) -> Duration {
        self.rewinds.rollback_time
    }

    /// Runs `body`, then poisons the instance if it failed.
    fn guarded<T>(&mut self, body: impl FnOnce(&mut Self) -> Result<T, HostError>) -> Result<T, HostError> {
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
    /// returns the decision and where the row ended up.
    fn run_step(
        &mut self,
        tokens: &[u32],
        prompt_len: usize,
        step: usize,
        host: &mut [f32],
        start: RowAt,
        can_rewind: bool,
    ) -> Result<(Decision, RowAt), HostError> {
        {
            let row = row_at(&mut self.stages, host, start);
            if self.check_logits {
                check_logits(row).map_err(|message| HostError::InputLogits { step, message })?;
            }
            if self.needs_raw {
                self.raw_logits.copy_from_slice(row);
            }
        }
        // The stages borrow the raw row while the chain changes itself
        // (rewinds), so it leaves `self` for the step.
        let raw = std::mem::take(&mut self.raw_logits);
        let result = self.run_stages(tokens, prompt_len, step, host, start, can_rewind, &raw);
        self.raw_logits = raw;
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn run_stages(
        &mut self,
        tokens: &[u32],
        prompt_len: usize,
        step: usize,
        host: &mut [f32],
        start: RowAt,
        can_rewind: bool,
        raw: &[f32],
    ) -> Result<(Decision, RowAt), HostError> {
        let mut at = start;
        // Bans of a rewind to this very place apply to this choice only.
        let bans = match self.rewinds.pending_ban.take() {
            Some((len, ban)) if len == tokens.len() => ban,
            _ => Vec::new(),
        };
        let ctx = StepContext {
            tokens,
            prompt_len,
            step,
            vocab_size: self.vocab_size,
            eos_token_id: self.eos_token_id,
            raw_logits: self.needs_raw.then_some(raw),
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
            if is_sampler && !bans.is_empty() {
                apply_bans(row_at(&mut self.stages, host, at), &bans);
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
            let collected = stage.collect(&mut self.observations, &mut self.records.observations, step);
            let value = result.and_then(|v| collected.map(|()| v)).map_err(|f| stage.failed(step, f))?;
            // A token chosen at this step is dropped by any rewind too.
            if let Some(to_len) = self.consider_rewind(i, tokens, prompt_len, step, is_sampler, can_rewind)? {
                return Ok((Decision::Rewind { to_len }, at));
            }
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
            return Err(sampler
                .failed(step, StageFailure::TokenOutOfRange { token: token.into(), vocab_size: self.vocab_size }));
        }
        for i in 0..=last {
            let stage = &mut self.stages[i];
            let started = Instant::now();
            let result = stage.runner.accept(&ctx, token, &mut self.records);
            stage.time += started.elapsed();
            let collected = stage.collect(&mut self.observations, &mut self.records.observations, step);
            result.and(collected).map_err(|f| stage.failed(step, f))?;
            if let Some(to_len) = self.consider_rewind(i, tokens, prompt_len, step, true, can_rewind)? {
                return Ok((Decision::Rewind { to_len }, at));
            }
        }
        Ok((Decision::Token(token), at))
    }

    /// Grants or refuses the rewind stage `i` asked for in the call just
    /// made, if it asked; returns the length a granted one went back to,
    /// with every stage rolled back. `chosen`: whether a token was chosen
    /// at this step already.
    fn consider_rewind(
        &mut self,
        i: usize,
        tokens: &[u32],
        prompt_len: usize,
        step: usize,
        chosen: bool,
        can_rewind: bool,
    ) -> Result<Option<usize>, HostError> {
        let Some(request) = self.records.rewind.take() else { return Ok(None) };
        let RewindRequest { to_len, ban } = request;
        if ban.len() > crate::wasm::MAX_REWIND_BANS {
            let why =
                format!("asked to rewind with {} banned tokens; at most {}", ban.len(), crate::wasm::MAX_REWIND_BANS);
            return Err(self.stages[i].failed(step, StageFailure::Error(why)));
        }
        if to_len < prompt_len || to_len > tokens.len() {
            let why = if to_len < prompt_len {
                format!("asked to rewind to {to_len} tokens, shorter than the prompt ({} tokens)", prompt_len)
            } else {
                format!("asked to rewind to {to_len} tokens, past the sequence's current length ({})", tokens.len())
            };
            return Err(self.stages[i].failed(step, StageFailure::Error(why)));
        }
        if let Some(&bad) = ban.iter().find(|&&t| t as usize >= self.vocab_size) {
            let why = format!("asked to ban token {bad}, outside the vocabulary of {}", self.vocab_size);
            return Err(self.stages[i].failed(step, StageFailure::Error(why)));
        }
        let discarded = tokens.len() - to_len + usize::from(chosen);
        let key = (to_len, prefix_hash(&tokens[..to_len]));
        let state = &mut self.rewinds;
        let before = state.banned.get(&key);
        let mut merged: Vec<u32> = before.cloned().unwrap_or_default();
        merged.extend(&ban);
        merged.sort_unstable();
        merged.dedup();
        let refused = if !self.stages[i].recipe.info.may_rewind {
            Some("the stage did not declare `may_rewind` in its description".to_string())
        } else if !can_rewind {
            Some("the caller cannot rewind".to_string())
        } else if state.granted >= state.budget.max_rewinds {
            Some(format!("the sequence's budget of {} rewinds is spent", state.budget.max_rewinds))
        } else if state.discarded + discarded > state.budget.max_discarded_tokens {
            Some(format!(
                "it would discard {discarded} tokens, and {} of the budget's {} are spent",
                state.discarded, state.budget.max_discarded_tokens
            ))
        } else if before.is_some_and(|b| b.len() == merged.len()) {
            Some("it repeats an earlier rewind to the same place without a new ban".to_string())
        } else {
            None
        };
        let event = RewindEvent {
            step,
            stage: self.stages[i].label.clone(),
            from_len: tokens.len(),
            to_len,
            ban: if refused.is_some() { ban } else { merged.clone() },
            discarded: if refused.is_some() { 0 } else { discarded },
            granted: refused.is_none(),
            refused,
        };
        self.observations.push(Observation {
            stage: event.stage.clone(),
            step,
            record: serde_json::json!({ "rewind": &event }),
        });
        let granted = event.granted;
        state.events.push(event);
        if !granted {
            return Ok(None);
        }
        state.granted += 1;
        state.discarded += discarded;
        state.banned.insert(key, merged.clone());
        state.pending_ban = Some((to_len, merged));
        self.records = Records::default();
        self.roll_back(tokens, prompt_len, to_len)?;
        Ok(Some(to_len))
    }

    /// Rolls every stage back to `to_len` tokens: `rollback` where the
    /// stage has one, else a fresh instance that replays `accept`.
    fn roll_back(&mut self, tokens: &[u32], prompt_len: usize, to_len: usize) -> Result<(), HostError> {
        let started = Instant::now();
        for stage in self.stages.iter_mut() {
            let stage_started = Instant::now();
            let at_step = to_len - prompt_len;
            match stage.runner.rollback(to_len).map_err(|f| stage.failed(at_step, f))? {
                Rollback::Done => {}
                Rollback::Replay => {
                    stage.runner = stage
                        .recipe
                        .create(&self.setup, stage.observed.limits)
                        .map_err(|f| stage.failed(at_step, f))?;
                    // What a replay observes or asks was seen the first time.
                    let mut ignored = Records::default();
                    for pos in prompt_len..to_len {
                        let ctx = StepContext {
                            tokens: &tokens[..pos],
                            prompt_len,
                            step: pos - prompt_len,
                            vocab_size: self.vocab_size,
                            eos_token_id: self.eos_token_id,
                            raw_logits: None,
                        };
                        stage
                            .runner
                            .accept(&ctx, tokens[pos], &mut ignored)
                            .map_err(|f| stage.failed(pos - prompt_len, f))?;
                        ignored.observations.clear();
                        ignored.rewind = None;
                    }
                }
            }
            stage.time += stage_started.elapsed();
        }
        self.rewinds.rollback_time += started.elapsed();
        Ok(())
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

/// Removes banned tokens from the row, unless that would leave nothing to
/// choose: a ban steers a rewound choice, it must not end the sequence.
fn apply_bans(row: &mut [f32], bans: &[u32]) {
    let survivor =
        row.iter().enumerate().any(|(t, l)| *l > f32::NEG_INFINITY && bans.binary_search(&(t as u32)).is_err());
    if survivor {
        for &t in bans {
            if let Some(l) = row.get_mut(t as usize) {
                *l = f32::NEG_INFINITY;
            }
        }
    }
}
