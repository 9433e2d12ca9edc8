//! The processor trait and what a processor sees.

use serde::{Deserialize, Serialize};

use crate::params::{ParamSpec, Params};

/// Whether a stage edits logits or picks the token. A chain is any number of
/// processors followed by exactly one sampler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Processor,
    Sampler,
}

/// The static description of a processor: what `plugins list` shows and
/// what the host validates chain configs against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessorInfo {
    /// Unique within its library; what a chain stage names.
    pub name: String,
    pub kind: StageKind,
    pub description: String,
    pub params: Vec<ParamSpec>,
    /// The host passes the pre-chain logits in [`Step::raw_logits`] (costs a
    /// copy per step, so only processors that ask get it).
    #[serde(default)]
    pub needs_raw_logits: bool,
    /// The host passes every token's byte string in [`Setup::token_bytes`]
    /// at creation (grammar constraints, loggers that print text).
    #[serde(default)]
    pub needs_token_bytes: bool,
    /// The processor may ask to rewind its sequence ([`Step::rewind`],
    /// interface 1.1). The host refuses requests from stages that did not
    /// say so, and knows from this which chains can rewind (a streaming
    /// caller holds back only their text).
    #[serde(default)]
    pub may_rewind: bool,
}

/// The byte string of every token in the vocabulary, stored flat so it
/// crosses any ABI as two buffers: token `i` is
/// `data[offsets[i] as usize..offsets[i + 1] as usize]`.
#[derive(Clone, Copy, Debug)]
pub struct TokenBytes<'a> {
    pub data: &'a [u8],
    /// `vocab_size + 1` monotone offsets into `data`.
    pub offsets: &'a [u32],
}

impl<'a> TokenBytes<'a> {
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes of token `id`; empty for ids outside the table (e.g. padding
    /// rows of an embedding larger than the tokenizer).
    pub fn get(&self, id: usize) -> &'a [u8] {
        if id + 1 >= self.offsets.len() {
            return &[];
        }
        &self.data[self.offsets[id] as usize..self.offsets[id + 1] as usize]
    }
    /// Builds the flat form from per-token byte strings.
    pub fn flatten(tokens: &[Vec<u8>]) -> (Vec<u8>, Vec<u32>) {
        let mut data = Vec::new();
        let mut offsets = Vec::with_capacity(tokens.len() + 1);
        offsets.push(0);
        for t in tokens {
            data.extend_from_slice(t);
            offsets.push(data.len() as u32);
        }
        (data, offsets)
    }
}

/// What a processor is created with, once per sequence.
#[derive(Clone, Copy, Debug)]
pub struct Setup<'a> {
    /// Length of the logits row (the model's output width).
    pub vocab_size: usize,
    pub eos_token_id: u32,
    /// A per-sequence seed the host derives from the user's `--seed` and the
    /// sequence's index in the batch. Stochastic stages draw from it (unless
    /// their own parameters fix a seed), so a run is reproducible and the
    /// sequences of a batch differ.
    pub seed: u64,
    /// Present when [`ProcessorInfo::needs_token_bytes`] is set.
    pub token_bytes: Option<TokenBytes<'a>>,
}

/// What a processor sees at one generation step.
pub struct Step<'a> {
    /// Prompt and generated token ids so far (not including the token being
    /// chosen at this step).
    pub tokens: &'a [u32],
    /// `tokens[..prompt_len]` is the prompt.
    pub prompt_len: usize,
    /// 0 for the first generated token.
    pub step: usize,
    pub vocab_size: usize,
    pub eos_token_id: u32,
    /// The logits as the model produced them, before any stage of the chain;
    /// present when [`ProcessorInfo::needs_raw_logits`] is set.
    pub raw_logits: Option<&'a [f32]>,
    observations: Vec<String>,
    rewind: Option<RewindRequest>,
}

/// A stage's request to take its sequence back to an earlier length and
/// choose again from there (interface 1.1). See [`Step::rewind`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewindRequest {
    /// The sequence length, prompt included, to go back to: tokens
    /// `to_len..` are dropped and the token at position `to_len` is chosen
    /// again. At least the prompt's length, at most `step.tokens.len()`.
    pub to_len: usize,
    /// Tokens that may not be chosen at position `to_len` when generation
    /// resumes there (once; later visits of that position are free again).
    pub ban: Vec<u32>,
}

/// What [`LogitProcessor::rollback`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rollback {
    /// The stage restored itself.
    Done,
    /// The stage cannot roll back: the host re-creates it and replays
    /// [`accept`](LogitProcessor::accept) over the kept tokens.
    Replay,
}

impl<'a> Step<'a> {
    pub fn new(
        tokens: &'a [u32],
        prompt_len: usize,
        step: usize,
        vocab_size: usize,
        eos_token_id: u32,
        raw_logits: Option<&'a [f32]>,
    ) -> Self {
        Step { tokens, prompt_len, step, vocab_size, eos_token_id, raw_logits, observations: Vec::new(), rewind: None }
    }

    /// Generated tokens so far.
    pub fn generated(&self) -> &'a [u32] {
        &self.tokens[self.prompt_len.min(self.tokens.len())..]
    }

    /// Records a small structured observation for this step. The host
    /// collects it (e.g. into `--trace FILE.jsonl`); plugins never write
    /// files themselves.
    pub fn observe(&mut self, record: serde_json::Value) {
        self.observations.push(record.to_string());
    }

    /// Takes the observations recorded so far (used by the ABI glue).
    pub fn take_observations(&mut self) -> Vec<String> {
        std::mem::take(&mut self.observations)
    }

    /// Asks the host to rewind this sequence to `to_len` tokens (prompt
    /// included) and to choose the token at `to_len` again, never one of
    /// `ban` (interface 1.1).
    ///
    /// Callable from `process`, `sample` or `accept`. The request is honoured
    /// after the call returns: the host drops the rest of this step,
    /// truncates the sequence's KV cache, rolls every stage of the chain back
    /// (see [`LogitProcessor::rollback`]) and decodes on from `to_len`. It
    /// may refuse: each sequence has a rewind budget (chain file,
    /// `[rewind]`), a rewind that would repeat an earlier one (same length,
    /// no new ban) is refused so that generation always ends, and a caller
    /// that cannot rewind (Hugging Face `generate`) refuses every request.
    /// A refusal is traced and decoding goes on forward. A `to_len` shorter
    /// than the prompt or longer than `tokens.len()` fails the step. A
    /// second request in the same call replaces the first.
    pub fn rewind(&mut self, to_len: usize, ban: &[u32]) {
        self.rewind = Some(RewindRequest { to_len, ban: ban.to_vec() });
    }

    /// Takes the rewind request of this call, if any (used by the ABI glue).
    pub fn take_rewind(&mut self) -> Option<RewindRequest> {
        self.rewind.take()
    }
}

/// An error a processor reports; the host adds the plugin name and step.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct PluginError {
    pub message: String,
}

impl PluginError {
    pub fn new(message: impl Into<String>) -> Self {
        PluginError { message: message.into() }
    }
}

impl From<crate::params::ParamError> for PluginError {
    fn from(e: crate::params::ParamError) -> Self {
        PluginError::new(e.to_string())
    }
}

/// The one trait a plugin author implements.
///
/// A processor is created once per sequence. At every step the host calls
/// [`process`](LogitProcessor::process) on each processor stage in chain
/// order, then [`sample`](LogitProcessor::sample) on the final sampler
/// stage, then [`accept`](LogitProcessor::accept) on every stage with the
/// chosen token. Any of the three may ask to go back ([`Step::rewind`]);
/// when the host grants it, it calls [`rollback`](LogitProcessor::rollback)
/// on every stage.
pub trait LogitProcessor: Send + 'static {
    /// Name, kind, parameters. Must not depend on anything but the type.
    fn info() -> ProcessorInfo
    where
        Self: Sized;

    /// Builds the per-sequence state. `params` has already been validated
    /// against [`ProcessorInfo::params`].
    fn create(params: &Params, setup: &Setup<'_>) -> Result<Self, PluginError>
    where
        Self: Sized;

    /// Edits the logits row in place. `-inf` removes a token.
    fn process(&mut self, _step: &mut Step<'_>, _logits: &mut [f32]) -> Result<(), PluginError> {
        Ok(())
    }

    /// Sampler stages return the chosen token id.
    fn sample(&mut self, _step: &mut Step<'_>, _logits: &[f32]) -> Result<u32, PluginError> {
        Err(PluginError::new("this stage is not a sampler"))
    }

    /// Called on every stage after the token is chosen.
    fn accept(&mut self, _step: &mut Step<'_>, _token: u32) -> Result<(), PluginError> {
        Ok(())
    }

    /// Restores the state this stage had when its sequence held `len`
    /// tokens (prompt included) and the token at `len` was not chosen yet,
    /// as if the later tokens had never been generated (interface 1.1).
    ///
    /// The default, [`Rollback::Replay`], lets the host do it: it re-creates
    /// the stage and calls `accept` for every kept generated token. That is
    /// exact for any stage whose state follows from the accepted tokens, and
    /// costs one `accept` per kept token, so stages with a cheap undo (a
    /// parser that can roll back) implement it. A random stream is the one
    /// thing a stage should *not* rewind: a redrawn position needs a fresh
    /// draw (see the `multinomial` sampler).
    fn rollback(&mut self, _len: usize) -> Result<Rollback, PluginError> {
        Ok(Rollback::Replay)
    }
}

/// Creates a processor from unvalidated parameters: validation first, so a
/// plugin can never be handed values outside its declared ranges.
pub fn create_validated<P: LogitProcessor>(
    given: &std::collections::BTreeMap<String, crate::params::ParamValue>,
    setup: &Setup<'_>,
) -> Result<P, PluginError> {
    let params = Params::validate(&P::info().params, given)?;
    P::create(&params, setup)
}

/// Validates a stage's parameters, then creates its per-sequence state.
pub type CreateProcessor = fn(
    &std::collections::BTreeMap<String, crate::params::ParamValue>,
    &Setup<'_>,
) -> Result<Box<dyn LogitProcessor>, PluginError>;

/// A processor type, erased: what a library exports and what the host's
/// built-in registry holds.
#[derive(Clone, Copy)]
pub struct ProcessorEntry {
    pub info: fn() -> ProcessorInfo,
    /// Validates the parameters, then creates the per-sequence state.
    pub create: CreateProcessor,
}

impl ProcessorEntry {
    pub fn of<P: LogitProcessor>() -> Self {
        ProcessorEntry { info: P::info, create: |given, setup| Ok(Box::new(create_validated::<P>(given, setup)?)) }
    }
}
