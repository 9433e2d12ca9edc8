//! The generation loop: prefill every prompt in one forward pass, then one
//! batched decode step per token, handing each sequence's logits row to its
//! own sampler (a logit-processor chain in practice).

use std::time::{Duration, Instant};

use tch::{Kind, Tensor};

use crate::cpu_decode::CpuDecoder;
use crate::{EngineError, Gpt2, KvCache};

/// What a sampler decided for one sequence at one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The next token.
    Token(u32),
    /// Go back: keep the first `to_len` tokens (prompt included, so at
    /// least the prompt) and choose the token at `to_len` again. The sampler
    /// has already rolled its own state back.
    Rewind { to_len: usize },
}

/// Picks the tokens of one sequence.
///
/// The engine writes each logits row (length = the model's vocabulary)
/// straight from the model's output into [`row`](Self::row), then calls
/// [`choose`](Self::choose). The sampler owns that buffer so that a chain
/// whose first stage is a WASM module can hand out memory inside the
/// module: the row is then copied once, from the model, and never again.
pub trait SequenceSampler {
    /// Where the next logits row goes; must be `vocab_size` long.
    fn row(&mut self) -> &mut [f32];
    /// Picks the next token from the row just written into [`row`](Self::row),
    /// which the sampler may edit in place, or asks to go back. `step` is
    /// the position being chosen, counted from the first generated token
    /// (`tokens.len() - prompt_len`), so it repeats after a rewind.
    fn choose(&mut self, tokens: &[u32], prompt_len: usize, step: usize) -> Result<Choice, String>;
}

/// What to do when a sequence reaches the model's context length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextOverflow {
    /// Finish the sequence with [`Finish::ContextFull`].
    Stop,
    /// Keep the last `keep` tokens, recompute their cache, and go on
    /// (learned absolute positions make a cheaper shift impossible).
    Slide { keep: usize },
}

#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub max_new_tokens: usize,
    pub eos_token_id: u32,
    pub stop_at_eos: bool,
    pub overflow: ContextOverflow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Finish {
    Eos,
    MaxTokens,
    ContextFull,
}

#[derive(Clone, Debug)]
pub struct SequenceOutput {
    /// Generated tokens only (the EOS token included when it ended the
    /// sequence); after rewinds, the kept ones.
    pub tokens: Vec<u32>,
    pub finish: Finish,
    /// Rewinds the sequence's sampler asked for and the engine carried out.
    pub rewinds: usize,
    /// Tokens those rewinds dropped.
    pub discarded: usize,
}

/// What the caller hears as a sequence grows: a token, or a rewind that
/// dropped the generated tokens from `kept` on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streamed {
    Token(u32),
    Rewind { kept: usize },
}

#[derive(Clone, Debug, Default)]
pub struct GenerationStats {
    pub prefill_time: Duration,
    pub prefill_tokens: usize,
    pub decode_time: Duration,
    /// Tokens fed through decode steps (all sequences together), re-fed
    /// ones after a rewind included.
    pub decode_tokens: usize,
    /// Time spent in samplers/chains, included in `decode_time`.
    pub sampling_time: Duration,
    /// Whether decode steps ran on the CPU decode path (`crate::cpu_decode`)
    /// rather than through libtorch.
    pub cpu_decode: bool,
    /// Rewinds carried out, all sequences together.
    pub rewinds: usize,
    /// Tokens those rewinds dropped.
    pub discarded: usize,
}

impl GenerationStats {
    pub fn decode_tokens_per_second(&self) -> f64 {
        self.decode_tokens as f64 / self.decode_time.as_secs_f64().max(1e-9)
    }
}

/// One sequence as the loop sees it.
struct Row {
    tokens: Vec<u32>,
    prompt_len: usize,
    finish: Option<Finish>,
    /// Tokens dropped from the front of the cache by context slides:
    /// cache position `p` holds token `slid + p`.
    slid: usize,
    rewinds: usize,
    discarded: usize,
}

impl Row {
    fn generated(&self) -> usize {
        self.tokens.len() - self.prompt_len
    }
}

/// How a live row takes part in the next decode step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Feed {
    /// Finished, or already given its next logits (a refill).
    Idle,
    /// Feed this token at the row's cache length.
    Token(u32),
}

/// Generates a continuation of every prompt.
///
/// `samplers[i]` chooses the tokens of `prompts[i]`; `on_event(i, ..)` is
/// called as each token is chosen or a rewind drops tokens, so callers can
/// stream text.
pub fn generate(
    gpt: &Gpt2,
    prompts: &[Vec<u32>],
    samplers: &mut [Box<dyn SequenceSampler + '_>],
    options: &GenerateOptions,
    on_event: &mut dyn FnMut(usize, Streamed),
) -> Result<(Vec<SequenceOutput>, GenerationStats), EngineError> {
    assert_eq!(prompts.len(), samplers.len(), "one sampler per prompt");
    let context = gpt.config.n_positions;
    for (index, p) in prompts.iter().enumerate() {
        if p.is_empty() || p.len() > context {
            return Err(EngineError::PromptTooLong { index, len: p.len(), context });
        }
    }
    let _guard = tch::no_grad_guard();
    let batch = prompts.len();
    let mut stats = GenerationStats::default();
    let mut rows: Vec<Row> = prompts
        .iter()
        .map(|p| Row { tokens: p.clone(), prompt_len: p.len(), finish: None, slid: 0, rewinds: 0, discarded: 0 })
        .collect();
    if options.max_new_tokens > 0 {
        let mut cache = KvCache::new(&gpt.config, batch, context, gpt.device(), gpt.kind());
        let prefill_start = Instant::now();
        prefill(gpt, prompts, &mut cache, samplers)?;
        stats.prefill_time = prefill_start.elapsed();
        stats.prefill_tokens = prompts.iter().map(Vec::len).sum();
        decode(gpt, &mut rows, &mut cache, samplers, options, on_event, &mut stats)?;
    }
    let outputs = rows
        .into_iter()
        .map(|r| SequenceOutput {
            tokens: r.tokens[r.prompt_len..].to_vec(),
            finish: r.finish.unwrap_or(Finish::MaxTokens),
            rewinds: r.rewinds,
            discarded: r.discarded,
        })
        .collect();
    Ok((outputs, stats))
}

/// Runs every prompt through the model in one forward pass and writes each
/// row's next-token logits into its sampler.
///
/// Prompts are right-padded to the longest. Causal attention keeps real
/// positions from seeing the padding, and each row's cache length is then
/// set back to its true prompt length so padding is overwritten later.
fn prefill(
    gpt: &Gpt2,
    prompts: &[Vec<u32>],
    cache: &mut KvCache,
    samplers: &mut [Box<dyn SequenceSampler + '_>],
) -> Result<(), EngineError> {
    let device = gpt.device();
    let batch = prompts.len();
    let vocab = gpt.config.vocab_size;
    let longest = prompts.iter().map(Vec::len).max().expect("non-empty batch");
    let mut padded = vec![0i64; batch * longest];
    for (b, p) in prompts.iter().enumerate() {
        for (t, &tok) in p.iter().enumerate() {
            padded[b * longest + t] = tok as i64;
        }
    }
    let idx = Tensor::from_slice(&padded).view([batch as i64, longest as i64]).to_device(device);
    let hidden = gpt.forward_cached_hidden(&idx, cache);
    let last_positions: Vec<i64> = prompts.iter().map(|p| p.len() as i64 - 1).collect();
    let last = hidden
        .gather(
            1,
            &Tensor::from_slice(&last_positions)
                .to_device(device)
                .view([batch as i64, 1, 1])
                .expand([batch as i64, 1, gpt.config.n_embd as i64], false),
            false,
        )
        .squeeze_dim(1);
    let host = host_logits(&gpt.logits(&last));
    for (b, p) in prompts.iter().enumerate() {
        write_row(&host, b, vocab, &mut *samplers[b], 0)?;
        cache.truncate(b, p.len());
    }
    Ok(())
}

/// The decode loop: every live row chooses (or rewinds), then every row
/// with a token to feed goes through one batched decode step.
fn decode(
    gpt: &Gpt2,
    rows: &mut [Row],
    cache: &mut KvCache,
    samplers: &mut [Box<dyn SequenceSampler + '_>],
    options: &GenerateOptions,
    on_event: &mut dyn FnMut(usize, Streamed),
    stats: &mut GenerationStats,
) -> Result<(), EngineError> {
    // Decode steps on the CPU run natively (see `crate::native`).
    let mut native = CpuDecoder::new(gpt, rows.len());
    stats.cpu_decode = native.is_some();
    let decode_start = Instant::now();
    let mut feeds = vec![Feed::Idle; rows.len()];
    loop {
        let sampling_start = Instant::now();
        for (b, row) in rows.iter_mut().enumerate() {
            feeds[b] = Feed::Idle;
            if row.finish.is_none() {
                choose(b, row, &mut *samplers[b], options, on_event, stats)?;
            }
        }
        stats.sampling_time += sampling_start.elapsed();
        if rows.iter().all(|r| r.finish.is_some()) {
            break;
        }
        for (b, row) in rows.iter_mut().enumerate() {
            if row.finish.is_none() {
                feeds[b] = plan_feed(gpt, b, row, cache, &mut *samplers[b], options)?;
            }
        }
        if feeds.iter().all(|f| *f == Feed::Idle) {
            continue;
        }
        let steps: Vec<usize> = rows.iter().map(Row::generated).collect();
        match native.as_mut() {
            Some(native) => cpu_step(native, cache, &feeds, samplers, gpt.config.vocab_size, &steps)?,
            None => libtorch_step(gpt, cache, &feeds, samplers, &steps)?,
        }
        stats.decode_tokens += feeds.iter().filter(|f| **f != Feed::Idle).count();
    }
    stats.decode_time = decode_start.elapsed();
    Ok(())
}

/// Lets row `b`'s sampler choose, and applies its choice: a token (which
/// may finish the row) or a rewind.
fn choose(
    b: usize,
    row: &mut Row,
    sampler: &mut dyn SequenceSampler,
    options: &GenerateOptions,
    on_event: &mut dyn FnMut(usize, Streamed),
    stats: &mut GenerationStats,
) -> Result<(), EngineError> {
    let step = row.generated();
    let choice = sampler.choose(&row.tokens, row.prompt_len, step).map_err(|message| EngineError::Sampler {
        sequence: b,
        step,
        message,
    })?;
    match choice {
        Choice::Token(token) => {
            row.tokens.push(token);
            on_event(b, Streamed::Token(token));
            if options.stop_at_eos && token == options.eos_token_id {
                row.finish = Some(Finish::Eos);
            } else if row.generated() >= options.max_new_tokens {
                row.finish = Some(Finish::MaxTokens);
            }
        }
        Choice::Rewind { to_len } => {
            if to_len < row.prompt_len || to_len > row.tokens.len() {
                return Err(EngineError::Sampler {
                    sequence: b,
                    step,
                    message: format!(
                        "asked to rewind to {to_len} tokens; the prompt has {} and the sequence {}",
                        row.prompt_len,
                        row.tokens.len()
                    ),
                });
            }
            let dropped = row.tokens.len() - to_len;
            row.tokens.truncate(to_len);
            row.rewinds += 1;
            row.discarded += dropped;
            stats.rewinds += 1;
            stats.discarded += dropped;
            on_event(b, Streamed::Rewind { kept: row.generated() });
        }
    }
    Ok(())
}

/// What live row `b` feeds next. The invariant between steps is that the
/// cache holds every token but the last, which is fed; so after a rewind
/// the cache is cut back to `to_len - 1` and the kept last token fed again
/// (its logits were dropped with the rest). A row that reached the context
/// limit stops or is re-prefilled on its own, as is a rewound row whose
/// kept tokens a slide had pushed out of the cache.
fn plan_feed(
    gpt: &Gpt2,
    b: usize,
    row: &mut Row,
    cache: &mut KvCache,
    sampler: &mut dyn SequenceSampler,
    options: &GenerateOptions,
) -> Result<Feed, EngineError> {
    let context = gpt.config.n_positions;
    let last = *row.tokens.last().expect("a row holds at least its prompt");
    let wanted = row.tokens.len() - 1;
    if wanted < row.slid + cache.len_of(b) {
        // Rewound: keep the cached prefix if the slide left it there.
        if wanted >= row.slid && (wanted > row.slid || row.slid == 0) {
            cache.truncate(b, wanted - row.slid);
        } else {
            let ContextOverflow::Slide { keep } = options.overflow else {
                unreachable!("only a slide moves the cache's window")
            };
            let keep = keep.clamp(1, context - 1).min(row.tokens.len());
            let tail = &row.tokens[row.tokens.len() - keep..];
            row.slid = row.tokens.len() - keep;
            let host = refill_row(gpt, cache, b, tail);
            write_row(&host, 0, gpt.config.vocab_size, sampler, row.generated())?;
            return Ok(Feed::Idle);
        }
    }
    if cache.len_of(b) < context {
        return Ok(Feed::Token(last));
    }
    match options.overflow {
        ContextOverflow::Stop => row.finish = Some(Finish::ContextFull),
        ContextOverflow::Slide { keep } => {
            let keep = keep.clamp(1, context - 1).min(row.tokens.len());
            let tail = &row.tokens[row.tokens.len() - keep..];
            row.slid = row.tokens.len() - keep;
            let host = refill_row(gpt, cache, b, tail);
            write_row(&host, 0, gpt.config.vocab_size, sampler, row.generated())?;
        }
    }
    Ok(Feed::Idle)
}

/// One decode step on the engine's own CPU kernels: only fed rows are
/// computed; the others' caches stay as they are.
fn cpu_step<S: SamplerAt + ?Sized>(
    native: &mut CpuDecoder<'_>,
    cache: &mut KvCache,
    feeds: &[Feed],
    samplers: &mut S,
    vocab: usize,
    steps: &[usize],
) -> Result<(), EngineError> {
    let fed: Vec<(usize, u32)> = feeds
        .iter()
        .enumerate()
        .filter_map(|(b, f)| match f {
            Feed::Token(t) => Some((b, *t)),
            Feed::Idle => None,
        })
        .collect();
    let mut outputs = Vec::with_capacity(fed.len());
    for &(b, _) in &fed {
        outputs.push(logits_buffer(samplers.at(b), b, vocab, steps[b])?.as_mut_ptr());
    }
    // SAFETY: each pointer is a distinct sampler's `vocab`-long buffer,
    // untouched until the samplers are called again.
    unsafe { native.step(cache, &fed, &outputs) };
    Ok(())
}

/// One decode step through libtorch. The batch is one tensor, so rows not
/// fed are computed too: each writes at its current length, which must be
/// a valid slot, and is rewound right after.
fn libtorch_step<S: SamplerAt + ?Sized>(
    gpt: &Gpt2,
    cache: &mut KvCache,
    feeds: &[Feed],
    samplers: &mut S,
    steps: &[usize],
) -> Result<(), EngineError> {
    let context = gpt.config.n_positions;
    let vocab = gpt.config.vocab_size;
    let mut parked = Vec::new();
    let mut input = vec![0i64; feeds.len()];
    for (b, feed) in feeds.iter().enumerate() {
        match feed {
            Feed::Token(t) => input[b] = *t as i64,
            Feed::Idle => {
                if cache.len_of(b) >= context {
                    cache.truncate(b, context - 1);
                }
                parked.push((b, cache.len_of(b)));
            }
        }
    }
    let idx = Tensor::from_slice(&input).view([feeds.len() as i64, 1]).to_device(gpt.device());
    let hidden = gpt.forward_cached_hidden(&idx, cache).squeeze_dim(1);
    let host = host_logits(&gpt.logits(&hidden));
    for (b, feed) in feeds.iter().enumerate() {
        if *feed != Feed::Idle {
            write_row(&host, b, vocab, samplers.at(b), steps[b])?;
        }
    }
    for (b, len) in parked {
        cache.truncate(b, len);
    }
    Ok(())
}

/// Recomputes the cache of one row from `tokens` (after a context slide)
/// and returns the logits for its next token (`[1, vocab]`, on the host).
fn refill_row(gpt: &Gpt2, cache: &mut KvCache, row: usize, tokens: &[u32]) -> Tensor {
    fill_rows(gpt, cache, &[(row, tokens)])
}

/// Runs each `(row, tokens)` through the model in one forward pass of its
/// own (right-padded to the longest, in a scratch cache just that long),
/// copies each row's keys and values into `cache` at `row`, sets its length,
/// and returns every row's next-token logits (`[k, vocab]`, on the host).
/// Rows of `cache` not named are untouched, so rows can join a batch that
/// is decoding.
fn fill_rows(gpt: &Gpt2, cache: &mut KvCache, rows: &[(usize, &[u32])]) -> Tensor {
    let device = gpt.device();
    let k = rows.len();
    let longest = rows.iter().map(|(_, t)| t.len()).max().expect("at least one row");
    let mut scratch = KvCache::new(&gpt.config, k, longest, device, gpt.kind());
    let mut padded = vec![0i64; k * longest];
    for (i, (_, tokens)) in rows.iter().enumerate() {
        for (t, &tok) in tokens.iter().enumerate() {
            padded[i * longest + t] = tok as i64;
        }
    }
    let idx = Tensor::from_slice(&padded).view([k as i64, longest as i64]).to_device(device);
    let hidden = gpt.forward_cached_hidden(&idx, &mut scratch);
    let mut last = Vec::with_capacity(k);
    for (i, &(row, tokens)) in rows.iter().enumerate() {
        let n = tokens.len() as i64;
        for layer in 0..cache.keys.len() {
            cache.keys[layer].get(row as i64).narrow(1, 0, n).copy_(&scratch.keys[layer].get(i as i64).narrow(1, 0, n));
            cache.values[layer]
                .get(row as i64)
                .narrow(1, 0, n)
                .copy_(&scratch.values[layer].get(i as i64).narrow(1, 0, n));
        }
        cache.truncate_or_set(row, tokens.len());
        last.push(hidden.get(i as i64).select(0, n - 1));
    }
    host_logits(&gpt.logits(&Tensor::stack(&last, 0)))
}

/// The sampler of each row of a batch, by row index.
trait SamplerAt {
    /// Row `b`'s sampler; only asked for rows that are live.
    fn at(&mut self, b: usize) -> &mut dyn SequenceSampler;
}

impl SamplerAt for [Box<dyn SequenceSampler + '_>] {
    fn at(&mut self, b: usize) -> &mut dyn SequenceSampler {
        &mut *self[b]
    }
}

impl SamplerAt for [Option<&mut dyn SequenceSampler>] {
    fn at(&mut self, b: usize) -> &mut dyn SequenceSampler {
        self[b].as_deref_mut().expect("a fed row has a sampler")
    }
}

/// A `[B, vocab]` logits tensor as contiguous f32 on the host: one transfer
/// for the whole batch (free when it already is).
fn host_logits(logits: &Tensor) -> Tensor {
    logits.to_kind(Kind::Float).to_device(tch::Device::Cpu).contiguous()
}

/// Copies row `b` of `host` into the sampler's buffer: the only copy a row
/// makes on its way from the model to the sampler.
fn write_row(
    host: &Tensor,
    b: usize,
    vocab: usize,
    sampler: &mut dyn SequenceSampler,
    step: usize,
) -> Result<(), EngineError> {
    let row = logits_buffer(sampler, b, vocab, step)?;
    host.get(b as i64).copy_data(row, vocab);
    Ok(())
}

/// The sampler's logits buffer, checked to be `vocab` long.
fn logits_buffer(
    sampler: &mut dyn SequenceSampler,
    b: usize,
    vocab: usize,
    step: usize,
) -> Result<&mut [f32], EngineError> {
    let row = sampler.row();
    if row.len() != vocab {
        return Err(EngineError::Sampler {
            sequence: b,
            step,
            message: format!("its logits buffer holds {} entries, the model's vocabulary {vocab}", row.len()),
        });
    }
    Ok(row)
}

/// A decoding batch that sequences join and leave while it runs: the
/// step-level form of [`generate`], for servers (continuous batching).
///
/// The batch has a fixed number of slots, each with its own row of one
/// preallocated [`KvCache`]. A slot's life is [`join`](Self::join)
/// (prefilled, with its first logits in its sampler), then one
/// [`advance`](Self::advance) per step (choose or rewind, plan what to feed)
/// followed by one [`step`](Self::step) for the whole batch, until
/// `advance` reports a finish or the caller calls [`leave`](Self::leave).
/// Every row keeps its own options; a rewind cuts only its own row's cache.
/// The caller keeps the samplers, so each request owns its chain.
pub struct LiveBatch<'m> {
    gpt: &'m Gpt2,
    cache: KvCache,
    native: Option<CpuDecoder<'m>>,
    rows: Vec<Option<(Row, GenerateOptions)>>,
    feeds: Vec<Feed>,
}

/// A sequence joining a [`LiveBatch`].
pub struct Join<'s> {
    pub slot: usize,
    pub prompt: Vec<u32>,
    pub options: GenerateOptions,
    pub sampler: &'s mut dyn SequenceSampler,
}

impl<'m> LiveBatch<'m> {
    /// A batch of `slots` rows, each with room for the model's whole context.
    pub fn new(gpt: &'m Gpt2, slots: usize) -> LiveBatch<'m> {
        let context = gpt.config.n_positions;
        LiveBatch {
            gpt,
            cache: KvCache::new(&gpt.config, slots, context, gpt.device(), gpt.kind()),
            native: CpuDecoder::new(gpt, slots),
            rows: (0..slots).map(|_| None).collect(),
            feeds: vec![Feed::Idle; slots],
        }
    }

    pub fn slots(&self) -> usize {
        self.rows.len()
    }

    /// Whether decode steps run on the engine's own CPU kernels (`cpu_decode`).
    pub fn cpu_decode(&self) -> bool {
        self.native.is_some()
    }

    /// Slots no sequence holds.
    pub fn free_slots(&self) -> Vec<usize> {
        (0..self.rows.len()).filter(|&s| self.rows[s].is_none()).collect()
    }

    /// Slots a sequence holds.
    pub fn live_slots(&self) -> Vec<usize> {
        (0..self.rows.len()).filter(|&s| self.rows[s].is_some()).collect()
    }

    /// The tokens a slot has generated so far (after rewinds, the kept ones).
    pub fn generated(&self, slot: usize) -> &[u32] {
        match &self.rows[slot] {
            Some((row, _)) => &row.tokens[row.prompt_len..],
            None => &[],
        }
    }

    /// Prefills every joining sequence in ONE forward pass (so rows already
    /// decoding wait for one prefill however many join) and writes each
    /// one's first logits into its sampler. Each prompt must be non-empty and
    /// leave at least one position of the context free; a slot must be free.
    pub fn join(&mut self, joins: &mut [Join<'_>]) -> Result<(), EngineError> {
        if joins.is_empty() {
            return Ok(());
        }
        let context = self.gpt.config.n_positions;
        for (index, j) in joins.iter().enumerate() {
            if j.prompt.is_empty() || j.prompt.len() >= context {
                return Err(EngineError::PromptTooLong { index, len: j.prompt.len(), context });
            }
            assert!(self.rows[j.slot].is_none(), "slot {} is taken", j.slot);
        }
        let _guard = tch::no_grad_guard();
        let batch: Vec<(usize, &[u32])> = joins.iter().map(|j| (j.slot, j.prompt.as_slice())).collect();
        let host = fill_rows(self.gpt, &mut self.cache, &batch);
        let vocab = self.gpt.config.vocab_size;
        for (i, j) in joins.iter_mut().enumerate() {
            write_row(&host, i, vocab, &mut *j.sampler, 0)?;
            let row = Row {
                tokens: j.prompt.clone(),
                prompt_len: j.prompt.len(),
                finish: None,
                slid: 0,
                rewinds: 0,
                discarded: 0,
            };
            self.rows[j.slot] = Some((row, j.options.clone()));
            self.feeds[j.slot] = Feed::Idle;
        }
        Ok(())
    }

    /// Lets a live slot's sampler choose from the logits it holds (a token
    /// or a rewind, reported through `on_event`) and plans what the slot
    /// feeds at the next [`step`](Self::step). Returns the finish when the
    /// sequence ended; the slot stays held until [`leave`](Self::leave).
    /// An error concerns this slot alone: the caller should `leave` it.
    pub fn advance(
        &mut self,
        slot: usize,
        sampler: &mut dyn SequenceSampler,
        on_event: &mut dyn FnMut(Streamed),
    ) -> Result<Option<Finish>, EngineError> {
        let _guard = tch::no_grad_guard();
        self.feeds[slot] = Feed::Idle;
        let (row, options) = self.rows[slot].as_mut().expect("advance a live slot");
        if let Some(finish) = row.finish {
            return Ok(Some(finish));
        }
        let mut stats = GenerationStats::default();
        choose(slot, row, sampler, options, &mut |_, event| on_event(event), &mut stats)?;
        if row.finish.is_none() {
            self.feeds[slot] = plan_feed(self.gpt, slot, row, &mut self.cache, sampler, options)?;
        }
        Ok(row.finish)
    }

    /// One decode step for every slot that [`advance`](Self::advance)
    /// planned a token for; `samplers[slot]` receives the slot's next
    /// logits. Returns how many rows were fed.
    pub fn step(&mut self, samplers: &mut [Option<&mut dyn SequenceSampler>]) -> Result<usize, EngineError> {
        assert_eq!(samplers.len(), self.rows.len(), "one sampler entry per slot");
        let fed = self.feeds.iter().filter(|f| **f != Feed::Idle).count();
        if fed == 0 {
            return Ok(0);
        }
        let _guard = tch::no_grad_guard();
        let steps: Vec<usize> = self.rows.iter().map(|r| r.as_ref().map_or(0, |(row, _)| row.generated())).collect();
        let result = match self.native.as_mut() {
            Some(native) => {
                cpu_step(native, &mut self.cache, &self.feeds, samplers, self.gpt.config.vocab_size, &steps)
            }
            None => libtorch_step(self.gpt, &mut self.cache, &self.feeds, samplers, &steps),
        };
        self.feeds.iter_mut().for_each(|f| *f = Feed::Idle);
        result.map(|()| fed)
    }

    /// Frees a slot and returns what its sequence generated (`None` for a
    /// free slot). A sequence left before it finished reports `MaxTokens`.
    pub fn leave(&mut self, slot: usize) -> Option<SequenceOutput> {
        let (row, _) = self.rows[slot].take()?;
        self.feeds[slot] = Feed::Idle;
        self.cache.truncate(slot, 0);
        Some(SequenceOutput {
            tokens: row.tokens[row.prompt_len..].to_vec(),
            finish: row.finish.unwrap_or(Finish::MaxTokens),
            rewinds: row.rewinds,
            discarded: row.discarded,
        })
    }
}
