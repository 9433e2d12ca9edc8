//! The generation loop: prefill every prompt in one forward pass, then one
//! batched decode step per token, handing each sequence's logits row to its
//! own sampler (a logit-processor chain in practice).

use std::time::{Duration, Instant};

use tch::{Kind, Tensor};

use crate::native::NativeDecoder;
use crate::{EngineError, Gpt2, KvCache};

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
    /// which the sampler may edit in place.
    fn choose(&mut self, tokens: &[u32], prompt_len: usize, step: usize) -> Result<u32, String>;
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
    /// Generated tokens only (the EOS token included when it ended the sequence).
    pub tokens: Vec<u32>,
    pub finish: Finish,
}

#[derive(Clone, Debug, Default)]
pub struct GenerationStats {
    pub prefill_time: Duration,
    pub prefill_tokens: usize,
    pub decode_time: Duration,
    /// Tokens produced by decode steps (all sequences together).
    pub decode_tokens: usize,
    /// Time spent in samplers/chains, included in `decode_time`.
    pub sampling_time: Duration,
    /// Whether decode steps ran on the native CPU path (`crate::native`)
    /// rather than through libtorch.
    pub native_decode: bool,
}

impl GenerationStats {
    pub fn decode_tokens_per_second(&self) -> f64 {
        self.decode_tokens as f64 / self.decode_time.as_secs_f64().max(1e-9)
    }
}

struct Row {
    tokens: Vec<u32>,
    prompt_len: usize,
    finish: Option<Finish>,
}

impl Row {
    fn generated(&self) -> usize {
        self.tokens.len() - self.prompt_len
    }
}

/// Generates a continuation of every prompt.
///
/// `samplers[i]` chooses the tokens of `prompts[i]`; `on_token(i, token)`
/// is called as each token is chosen, so callers can stream text.
pub fn generate(
    gpt: &Gpt2,
    prompts: &[Vec<u32>],
    samplers: &mut [Box<dyn SequenceSampler + '_>],
    options: &GenerateOptions,
    on_token: &mut dyn FnMut(usize, u32),
) -> Result<(Vec<SequenceOutput>, GenerationStats), EngineError> {
    assert_eq!(prompts.len(), samplers.len(), "one sampler per prompt");
    let context = gpt.config.n_positions;
    for (index, p) in prompts.iter().enumerate() {
        if p.is_empty() || p.len() > context {
            return Err(EngineError::PromptTooLong { index, len: p.len(), context });
        }
    }
    let _guard = tch::no_grad_guard();
    let device = gpt.device();
    let kind = gpt.kind();
    let batch = prompts.len();
    let vocab = gpt.config.vocab_size;
    let mut stats = GenerationStats::default();
    let mut rows: Vec<Row> = prompts.iter().map(|p| Row { tokens: p.clone(), prompt_len: p.len(), finish: None }).collect();
    if options.max_new_tokens == 0 {
        return Ok((rows.into_iter().map(|_| SequenceOutput { tokens: vec![], finish: Finish::MaxTokens }).collect(), stats));
    }

    let mut cache = KvCache::new(&gpt.config, batch, context, device, kind);

    // Prefill: right-pad to the longest prompt. Causal attention keeps real
    // positions from seeing the padding, and each row's cache length is then
    // set back to its true prompt length so padding is overwritten later.
    let prefill_start = Instant::now();
    let longest = prompts.iter().map(Vec::len).max().expect("non-empty batch");
    let mut padded = vec![0i64; batch * longest];
    for (b, p) in prompts.iter().enumerate() {
        for (t, &tok) in p.iter().enumerate() {
            padded[b * longest + t] = tok as i64;
        }
    }
    let idx = Tensor::from_slice(&padded).view([batch as i64, longest as i64]).to_device(device);
    let hidden = gpt.forward_cached_hidden(&idx, &mut cache);
    let last_positions: Vec<i64> = prompts.iter().map(|p| p.len() as i64 - 1).collect();
    let last = hidden
        .gather(1, &Tensor::from_slice(&last_positions).to_device(device).view([batch as i64, 1, 1]).expand([batch as i64, 1, gpt.config.n_embd as i64], false), false)
        .squeeze_dim(1);
    let host = host_logits(&gpt.logits(&last));
    for b in 0..batch {
        write_row(&host, b, vocab, &mut *samplers[b], 0)?;
    }
    for (b, p) in prompts.iter().enumerate() {
        cache.truncate(b, p.len());
    }
    stats.prefill_time = prefill_start.elapsed();
    stats.prefill_tokens = prompts.iter().map(Vec::len).sum();

    // Decode steps on the CPU run natively (see `crate::native`).
    let mut native = NativeDecoder::new(gpt, batch);
    stats.native_decode = native.is_some();
    let decode_start = Instant::now();
    let mut next_input = vec![0i64; batch];
    let mut fed_by_decode = vec![false; batch];
    for step in 0.. {
        // Choose a token for every live sequence.
        let sampling_start = Instant::now();
        for (b, row) in rows.iter_mut().enumerate() {
            if row.finish.is_some() {
                continue;
            }
            let token = samplers[b]
                .choose(&row.tokens, row.prompt_len, step)
                .map_err(|message| EngineError::Sampler { sequence: b, step, message })?;
            row.tokens.push(token);
            on_token(b, token);
            if options.stop_at_eos && token == options.eos_token_id {
                row.finish = Some(Finish::Eos);
            } else if row.generated() >= options.max_new_tokens {
                row.finish = Some(Finish::MaxTokens);
            }
        }
        stats.sampling_time += sampling_start.elapsed();
        if rows.iter().all(|r| r.finish.is_some()) {
            break;
        }

        // Feed the chosen tokens back. Finished rows ride along (a batch is
        // one tensor) but are rewound afterwards; a row that hit the context
        // limit either stops or is re-prefilled on its own.
        for (b, row) in rows.iter_mut().enumerate() {
            fed_by_decode[b] = false;
            next_input[b] = 0;
            if row.finish.is_some() {
                continue;
            }
            if cache.len_of(b) < context {
                fed_by_decode[b] = true;
                next_input[b] = *row.tokens.last().expect("a token was just chosen") as i64;
                continue;
            }
            match options.overflow {
                ContextOverflow::Stop => row.finish = Some(Finish::ContextFull),
                ContextOverflow::Slide { keep } => {
                    let keep = keep.clamp(1, context - 1).min(row.tokens.len());
                    let tail = &row.tokens[row.tokens.len() - keep..];
                    let host = refill_row(gpt, &mut cache, b, tail);
                    write_row(&host, 0, vocab, &mut *samplers[b], step + 1)?;
                }
            }
        }
        if !fed_by_decode.iter().any(|&f| f) {
            if rows.iter().all(|r| r.finish.is_some()) {
                break;
            }
            continue;
        }
        if let Some(native) = native.as_mut() {
            // Only fed rows are computed; the others' caches stay as they are.
            let fed: Vec<(usize, u32)> = (0..batch).filter(|&b| fed_by_decode[b]).map(|b| (b, next_input[b] as u32)).collect();
            let mut outputs = Vec::with_capacity(fed.len());
            for &(b, _) in &fed {
                outputs.push(logits_buffer(&mut *samplers[b], b, vocab, step + 1)?.as_mut_ptr());
            }
            // SAFETY: each pointer is a distinct sampler's `vocab`-long
            // buffer, untouched until the samplers are called again.
            unsafe { native.step(&mut cache, &fed, &outputs) };
        } else {
            // The batch is one tensor, so rows not fed are computed too:
            // each writes at its current length, which must be a valid
            // slot, and is rewound right after.
            for b in 0..batch {
                if !fed_by_decode[b] && cache.len_of(b) >= context {
                    cache.truncate(b, context - 1);
                }
            }
            let parked: Vec<(usize, usize)> = (0..batch).filter(|&b| !fed_by_decode[b]).map(|b| (b, cache.len_of(b))).collect();
            let idx = Tensor::from_slice(&next_input).view([batch as i64, 1]).to_device(device);
            let hidden = gpt.forward_cached_hidden(&idx, &mut cache).squeeze_dim(1);
            let host = host_logits(&gpt.logits(&hidden));
            for b in 0..batch {
                if fed_by_decode[b] {
                    write_row(&host, b, vocab, &mut *samplers[b], step + 1)?;
                }
            }
            for (b, len) in parked {
                cache.truncate(b, len);
            }
        }
        stats.decode_tokens += fed_by_decode.iter().filter(|&&f| f).count();
    }
    stats.decode_time = decode_start.elapsed();
    // Tokens chosen from the prefill logits count as decode output too:
    // every generated token costs one sampler call and (all but the last)
    // one decode step.
    let outputs = rows
        .into_iter()
        .map(|r| SequenceOutput { tokens: r.tokens[r.prompt_len..].to_vec(), finish: r.finish.unwrap_or(Finish::MaxTokens) })
        .collect();
    Ok((outputs, stats))
}

/// Recomputes the cache of one row from `tokens` (after a context slide)
/// and returns the logits for its next token (`[1, vocab]`, on the host).
fn refill_row(gpt: &Gpt2, cache: &mut KvCache, row: usize, tokens: &[u32]) -> Tensor {
    let device = gpt.device();
    let mut single = KvCache::new(&gpt.config, 1, cache.capacity(), device, gpt.kind());
    let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
    let idx = Tensor::from_slice(&ids).view([1, ids.len() as i64]).to_device(device);
    let hidden = gpt.forward_cached_hidden(&idx, &mut single);
    let n = tokens.len() as i64;
    for layer in 0..cache.keys.len() {
        cache.keys[layer].get(row as i64).narrow(1, 0, n).copy_(&single.keys[layer].get(0).narrow(1, 0, n));
        cache.values[layer].get(row as i64).narrow(1, 0, n).copy_(&single.values[layer].get(0).narrow(1, 0, n));
    }
    cache.truncate_or_set(row, tokens.len());
    host_logits(&gpt.logits(&hidden.select(1, n - 1)))
}

/// A `[B, vocab]` logits tensor as contiguous f32 on the host: one transfer
/// for the whole batch (free when it already is).
fn host_logits(logits: &Tensor) -> Tensor {
    logits.to_kind(Kind::Float).to_device(tch::Device::Cpu).contiguous()
}

/// Copies row `b` of `host` into the sampler's buffer: the only copy a row
/// makes on its way from the model to the sampler.
fn write_row(host: &Tensor, b: usize, vocab: usize, sampler: &mut dyn SequenceSampler, step: usize) -> Result<(), EngineError> {
    let row = logits_buffer(sampler, b, vocab, step)?;
    host.get(b as i64).copy_data(row, vocab);
    Ok(())
}

/// The sampler's logits buffer, checked to be `vocab` long.
fn logits_buffer<'s>(sampler: &'s mut dyn SequenceSampler, b: usize, vocab: usize, step: usize) -> Result<&'s mut [f32], EngineError> {
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
