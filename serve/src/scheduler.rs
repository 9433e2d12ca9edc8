//! The scheduler thread: owns the model and one [`LiveBatch`], admits
//! waiting sequences into free slots (all of a step's arrivals in one
//! batched prefill), advances every live row, runs one decode step, and
//! streams text back to each request's channel. Everything about a row
//! (chain, seed, stop strings, errors, disconnects) stays with that row.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

use logitloom_engine::generate::{
    Choice, ContextOverflow, Finish, GenerateOptions, Join, LiveBatch, SequenceSampler, Streamed,
};
use logitloom_engine::tokenizer::Utf8Stream;
use logitloom_engine::Model;
use logitloom_plugin_host::{ChainInstance, Decision, LoadedChain, OwnedTokenBytes, SequenceSetup};
use tokio::sync::mpsc::UnboundedSender;

use crate::metrics::Metrics;
use crate::{ServeConfig, ServeError};

/// One token's log-probability under the model (before the chain), the
/// entropy of that distribution, and its most likely alternatives.
#[derive(Clone, Debug)]
pub struct TokenLogprob {
    pub token: u32,
    pub logprob: f32,
    pub entropy: f32,
    pub top: Vec<(u32, f32)>,
}

/// What a request hears back.
pub enum Event {
    Text { index: usize, text: String, logprobs: Vec<TokenLogprob> },
    Done { index: usize, finish: &'static str, tokens: usize },
    Error { message: String },
}

/// A request as the scheduler takes it.
pub struct Job {
    pub prompt: Vec<u32>,
    pub chain: Arc<LoadedChain>,
    pub seeds: Vec<u64>,
    pub max_tokens: usize,
    pub stop: Vec<String>,
    pub logprobs: Option<usize>,
    pub logit_bias: Vec<(u32, f32)>,
    pub events: UnboundedSender<Event>,
}

/// What handlers know about the model.
#[derive(Clone)]
pub struct ModelInfo {
    pub id: String,
    pub vocab: usize,
    pub context: usize,
    pub eos: u32,
    pub tokenizer: Arc<logitloom_engine::Tokenizer>,
}

pub struct SchedulerHandle {
    pub jobs: mpsc::Sender<Job>,
    pub model: ModelInfo,
}

/// Lets a row's chain choose, with the request's logit bias added first
/// and, when logprobs are asked, the model's distribution recorded.
struct RowSampler {
    instance: ChainInstance,
    bias: Arc<Vec<(u32, f32)>>,
    logprobs: Option<usize>,
    raw: Vec<f32>,
    records: Vec<TokenLogprob>,
}

impl SequenceSampler for RowSampler {
    fn row(&mut self) -> &mut [f32] {
        self.instance.input_row()
    }
    fn choose(&mut self, tokens: &[u32], prompt_len: usize, step: usize) -> Result<Choice, String> {
        let row = self.instance.input_row();
        let mut stats = None;
        if let Some(top_n) = self.logprobs {
            self.raw.clear();
            self.raw.extend_from_slice(row);
            stats = Some((log_sum_exp(&self.raw), top_n));
        }
        for &(token, bias) in self.bias.iter() {
            row[token as usize] += bias;
        }
        let decision = self.instance.decide_input_row(tokens, prompt_len, step).map_err(|e| e.to_string())?;
        match decision {
            Decision::Token(token) => {
                if let Some((lse, top_n)) = stats {
                    self.records.truncate(step);
                    self.records.push(record(&self.raw, lse, token, top_n));
                }
                Ok(Choice::Token(token))
            }
            Decision::Rewind { to_len } => {
                self.records.truncate(to_len - prompt_len);
                Ok(Choice::Rewind { to_len })
            }
        }
    }
}

fn log_sum_exp(row: &[f32]) -> f32 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    max + row.iter().map(|&x| ((x - max) as f64).exp()).sum::<f64>().ln() as f32
}

fn record(raw: &[f32], lse: f32, token: u32, top_n: usize) -> TokenLogprob {
    let entropy = -raw
        .iter()
        .map(|&x| {
            let lp = (x - lse) as f64;
            if lp.is_finite() {
                lp.exp() * lp
            } else {
                0.0
            }
        })
        .sum::<f64>() as f32;
    let mut top: Vec<(u32, f32)> = Vec::new();
    for (i, &x) in raw.iter().enumerate() {
        if top.len() < top_n || top.last().is_some_and(|&(_, v)| x > v) {
            let at = top.partition_point(|&(_, v)| v >= x);
            top.insert(at, (i as u32, x));
            top.truncate(top_n);
        }
    }
    TokenLogprob {
        token,
        logprob: raw[token as usize] - lse,
        entropy,
        top: top.into_iter().map(|(t, x)| (t, x - lse)).collect(),
    }
}

/// A sequence waiting for a slot.
struct Waiting {
    job: Arc<Job>,
    index: usize,
}

/// A live row's request-side state: its text so far, what was sent.
struct Live {
    job: Arc<Job>,
    index: usize,
    sampler: RowSampler,
    stream: Utf8Stream,
    text: String,
    /// `text.len()` after each generated token.
    offsets: Vec<usize>,
    sent_bytes: usize,
    sent_tokens: usize,
    /// Tokens a rewind could still take back: held back from the stream.
    holdback: usize,
}

pub fn spawn(config: &ServeConfig, metrics: Arc<Metrics>) -> Result<SchedulerHandle, ServeError> {
    let (info_tx, info_rx) = mpsc::channel();
    let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
    let config = config.clone();
    std::thread::Builder::new().name("logitloom-scheduler".into()).spawn(move || {
        let model = match Model::load(&config.model_dir, config.device, config.kind) {
            Ok(m) => m,
            Err(e) => {
                let _ = info_tx.send(Err(ServeError::Engine(e)));
                return;
            }
        };
        let eos = model.tokenizer.eos_token_id().unwrap_or(model.config().eos_token_id);
        let id =
            config.model_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        let tokenizer = logitloom_engine::Tokenizer::from_inner(model.tokenizer.inner().clone());
        let info = ModelInfo {
            id,
            vocab: model.config().vocab_size,
            context: model.config().n_positions,
            eos,
            tokenizer: Arc::new(tokenizer),
        };
        let _ = info_tx.send(Ok(info));
        run(&model, config.max_batch, eos, jobs_rx, &metrics);
    })?;
    let model = info_rx.recv().map_err(|_| ServeError::Scheduler("it stopped while loading the model".into()))??;
    Ok(SchedulerHandle { jobs: jobs_tx, model })
}

fn run(model: &Model, max_batch: usize, eos: u32, jobs: mpsc::Receiver<Job>, metrics: &Metrics) {
    let mut batch = LiveBatch::new(&model.gpt, max_batch);
    let mut live: Vec<Option<Live>> = (0..max_batch).map(|_| None).collect();
    let mut waiting: VecDeque<Waiting> = VecDeque::new();
    let token_bytes = Arc::new(logitloom_runtime::model_token_bytes(model));
    let enqueue = |job: Job, waiting: &mut VecDeque<Waiting>| {
        let job = Arc::new(job);
        for index in 0..job.seeds.len() {
            waiting.push_back(Waiting { job: job.clone(), index });
        }
    };
    loop {
        if live.iter().all(Option::is_none) && waiting.is_empty() {
            match jobs.recv() {
                Ok(job) => enqueue(job, &mut waiting),
                Err(_) => return,
            }
        }
        while let Ok(job) = jobs.try_recv() {
            enqueue(job, &mut waiting);
        }
        waiting.retain(|w| !w.job.events.is_closed());
        admit(model, &mut batch, &mut live, &mut waiting, &token_bytes, eos, metrics);
        metrics.queue_depth.store(waiting.len() as u64, Relaxed);

        for slot in batch.live_slots() {
            let Some(row) = live[slot].as_mut() else { continue };
            if row.job.events.is_closed() {
                batch.leave(slot);
                live[slot] = None;
                continue;
            }
            let mut events = Vec::new();
            let outcome = batch.advance(slot, &mut row.sampler, &mut |e| events.push(e));
            let finish = match outcome {
                Err(e) => {
                    let event = Event::Error { message: format!("choice {}: {e}", row.index) };
                    end_row(&mut batch, &mut live, slot, metrics, event);
                    continue;
                }
                Ok(finish) => finish,
            };
            let mut stopped = false;
            for event in events {
                match event {
                    Streamed::Token(token) => {
                        let from = row.text.len();
                        if token != eos {
                            let piece = row.stream.push(model.tokenizer.token_bytes(token));
                            row.text.push_str(&piece);
                        }
                        row.offsets.push(row.text.len());
                        metrics.generated_tokens.fetch_add(1, Relaxed);
                        if let Some(at) = find_stop(&row.text, from, &row.job.stop) {
                            row.text.truncate(at);
                            stopped = true;
                        }
                    }
                    Streamed::Rewind { kept } => {
                        let tokens = batch.generated(slot).to_vec();
                        debug_assert_eq!(tokens.len(), kept);
                        metrics.rewinds.fetch_add(1, Relaxed);
                        metrics.rewound_tokens.fetch_add(row.offsets.len().saturating_sub(kept) as u64, Relaxed);
                        row.stream = Utf8Stream::default();
                        row.text.clear();
                        row.offsets.clear();
                        for &t in &tokens {
                            if t != eos {
                                let piece = row.stream.push(model.tokenizer.token_bytes(t));
                                row.text.push_str(&piece);
                            }
                            row.offsets.push(row.text.len());
                        }
                    }
                }
            }
            let done = if stopped { Some("stop") } else { finish.map(finish_reason) };
            if let Some(reason) = done {
                if reason != "stop" || !stopped {
                    let tail = row.stream.finish();
                    row.text.push_str(&tail);
                }
                send_text(row, true);
                let tokens = row.offsets.len();
                metrics.add_stage_times(&row.sampler.instance.stage_times());
                let event = Event::Done { index: row.index, finish: reason, tokens };
                end_row(&mut batch, &mut live, slot, metrics, event);
            } else {
                send_text(row, false);
            }
        }
        metrics.batch_size.store(batch.live_slots().len() as u64, Relaxed);
        let start = Instant::now();
        let mut samplers: Vec<Option<&mut dyn SequenceSampler>> =
            live.iter_mut().map(|l| l.as_mut().map(|l| &mut l.sampler as &mut dyn SequenceSampler)).collect();
        match batch.step(&mut samplers) {
            Ok(fed) => {
                if fed > 0 {
                    metrics.steps.fetch_add(1, Relaxed);
                    metrics.step_rows.fetch_add(fed as u64, Relaxed);
                    metrics.step_micros.fetch_add(start.elapsed().as_micros() as u64, Relaxed);
                }
            }
            Err(e) => {
                // A failed step concerns the whole batch: end every row.
                for slot in batch.live_slots() {
                    let event = Event::Error { message: format!("decode step: {e}") };
                    end_row(&mut batch, &mut live, slot, metrics, event);
                }
            }
        }
    }
}

/// Takes a finished row out of the batch, then tells its client. The order
/// matters: a client that reads `/metrics` right after its response must
/// not see its own row still counted in the batch gauge.
fn end_row(batch: &mut LiveBatch<'_>, live: &mut [Option<Live>], slot: usize, metrics: &Metrics, event: Event) {
    batch.leave(slot);
    let row = live[slot].take();
    metrics.batch_size.store(batch.live_slots().len() as u64, Relaxed);
    if let Some(row) = row {
        let _ = row.job.events.send(event);
    }
}

fn finish_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Eos => "stop",
        Finish::MaxTokens | Finish::ContextFull => "length",
    }
}

/// Where the earliest stop string starts, looking only at matches that end
/// after `from` (earlier text was checked before).
fn find_stop(text: &str, from: usize, stops: &[String]) -> Option<usize> {
    stops
        .iter()
        .filter_map(|s| {
            let mut start = from.saturating_sub(s.len().saturating_sub(1));
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            text[start..].find(s.as_str()).map(|i| start + i)
        })
        .min()
}

/// Sends the text that is final: not a possible start of a stop string,
/// and not within reach of a rewind (all of it when the row is done).
fn send_text(row: &mut Live, done: bool) {
    let mut end = row.text.len();
    let mut tokens = row.offsets.len();
    if !done {
        let hold_stop = row.job.stop.iter().map(String::len).max().unwrap_or(1).saturating_sub(1);
        end = end.saturating_sub(hold_stop);
        if row.holdback > 0 {
            let safe_tokens = row.offsets.len().saturating_sub(row.holdback);
            end = end.min(if safe_tokens == 0 { 0 } else { row.offsets[safe_tokens - 1] });
        }
        while !row.text.is_char_boundary(end) {
            end -= 1;
        }
        tokens = row.offsets.partition_point(|&o| o <= end);
    }
    if end < row.sent_bytes || (end == row.sent_bytes && tokens <= row.sent_tokens) {
        return;
    }
    let text = row.text[row.sent_bytes..end].to_string();
    let tokens = tokens.max(row.sent_tokens);
    let logprobs = if row.job.logprobs.is_some() {
        row.sampler.records.get(row.sent_tokens..tokens.min(row.sampler.records.len())).unwrap_or_default().to_vec()
    } else {
        Vec::new()
    };
    row.sent_bytes = end;
    row.sent_tokens = tokens;
    let _ = row.job.events.send(Event::Text { index: row.index, text, logprobs });
}

/// Moves waiting sequences into free slots, all in one batched prefill.
fn admit(
    model: &Model,
    batch: &mut LiveBatch<'_>,
    live: &mut [Option<Live>],
    waiting: &mut VecDeque<Waiting>,
    token_bytes: &Arc<OwnedTokenBytes>,
    eos: u32,
    metrics: &Metrics,
) {
    let mut admitted: Vec<(usize, Live)> = Vec::new();
    for slot in batch.free_slots() {
        let Some(w) = waiting.pop_front() else { break };
        let chain = &w.job.chain;
        let setup = SequenceSetup {
            vocab_size: model.config().vocab_size,
            eos_token_id: eos,
            seed: w.job.seeds[w.index],
            token_bytes: chain.needs_token_bytes().then(|| token_bytes.clone()),
        };
        let instance = match chain.instantiate(&setup) {
            Ok(i) => i,
            Err(e) => {
                let _ = w.job.events.send(Event::Error { message: format!("the chain failed to start: {e}") });
                continue;
            }
        };
        let holdback = if chain.may_rewind() { chain.rewind_budget().max_discarded_tokens } else { 0 };
        let sampler = RowSampler {
            instance,
            bias: Arc::new(w.job.logit_bias.clone()),
            logprobs: w.job.logprobs,
            raw: Vec::new(),
            records: Vec::new(),
        };
        admitted.push((
            slot,
            Live {
                job: w.job.clone(),
                index: w.index,
                sampler,
                stream: Utf8Stream::default(),
                text: String::new(),
                offsets: Vec::new(),
                sent_bytes: 0,
                sent_tokens: 0,
                holdback,
            },
        ));
    }
    if admitted.is_empty() {
        return;
    }
    let start = Instant::now();
    let result = {
        let mut joins: Vec<Join<'_>> = admitted
            .iter_mut()
            .map(|(slot, row)| Join {
                slot: *slot,
                prompt: row.job.prompt.clone(),
                options: GenerateOptions {
                    max_new_tokens: row.job.max_tokens,
                    eos_token_id: eos,
                    stop_at_eos: true,
                    overflow: ContextOverflow::Stop,
                },
                sampler: &mut row.sampler,
            })
            .collect();
        batch.join(&mut joins)
    };
    metrics.prefills.fetch_add(1, Relaxed);
    metrics.prefill_micros.fetch_add(start.elapsed().as_micros() as u64, Relaxed);
    match result {
        Ok(()) => {
            for (slot, row) in admitted {
                metrics.prompt_tokens.fetch_add(row.job.prompt.len() as u64, Relaxed);
                live[slot] = Some(row);
            }
        }
        Err(e) => {
            for (slot, row) in admitted {
                batch.leave(slot);
                let _ = row.job.events.send(Event::Error { message: format!("prefill: {e}") });
            }
        }
    }
}
