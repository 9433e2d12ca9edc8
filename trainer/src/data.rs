//! Training data on disk and the batches drawn from it.
//!
//! A batch is `batch_size` random windows of `block_size + 1` tokens; inputs
//! are the first `block_size`, targets the last. Window starts come from a
//! SplitMix64 generator seeded by (seed, stream, step, micro-step) alone, so
//! any step's batch can be recomputed without replaying the steps before it;
//! that is what makes a resumed run see exactly the batches an uninterrupted
//! one would.

use std::path::Path;

use tch::{Device, Tensor};

use crate::error::{Result, TrainerError};
use crate::prepare::{DataMeta, TRAIN_FILE, VAL_FILE};
use crate::tokens::read_tokens;

/// Separate generator streams, so validation batches never coincide with training ones.
pub const TRAIN_STREAM: u64 = 1;
pub const EVAL_STREAM: u64 = 2;

/// The train and validation token streams of a prepared data directory.
pub struct Dataset {
    pub meta: DataMeta,
    pub train: Vec<u32>,
    pub val: Vec<u32>,
}

impl Dataset {
    /// Loads `dir` and checks that both splits hold at least one window of `block_size + 1` tokens.
    pub fn load(dir: &Path, block_size: usize) -> Result<Dataset> {
        let meta = DataMeta::load(dir)?;
        let train = read_tokens(&dir.join(TRAIN_FILE), meta.vocab_size)?;
        let val = read_tokens(&dir.join(VAL_FILE), meta.vocab_size)?;
        for (name, tokens) in [(TRAIN_FILE, &train), (VAL_FILE, &val)] {
            if tokens.len() < block_size + 1 {
                return Err(TrainerError::DataDir {
                    path: dir.join(name),
                    reason: format!(
                        "holds {} tokens, fewer than one window of block_size + 1 = {}",
                        tokens.len(),
                        block_size + 1
                    ),
                });
            }
        }
        Ok(Dataset { meta, train, val })
    }
}

pub use logitloom_numerics::SplitMix64;

/// Mixes the coordinates of a batch into one generator seed.
pub fn derive_seed(parts: &[u64]) -> u64 {
    parts.iter().fold(0x6C6F_6769_746C_6F6Fu64, |acc, &part| SplitMix64::new(acc ^ part).next_u64())
}

/// The window starts of one batch.
pub fn window_starts(tokens_len: usize, block_size: usize, batch_size: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
    let choices = (tokens_len - block_size) as u64;
    (0..batch_size).map(|_| rng.below(choices) as usize).collect()
}

/// Inputs and targets (`[batch, block]`, i64) for the given window starts.
pub fn batch_at(tokens: &[u32], starts: &[usize], block_size: usize, device: Device) -> (Tensor, Tensor) {
    let mut inputs = Vec::with_capacity(starts.len() * block_size);
    let mut targets = Vec::with_capacity(starts.len() * block_size);
    for &start in starts {
        inputs.extend(tokens[start..start + block_size].iter().map(|&t| t as i64));
        targets.extend(tokens[start + 1..start + block_size + 1].iter().map(|&t| t as i64));
    }
    let shape = [starts.len() as i64, block_size as i64];
    (
        Tensor::from_slice(&inputs).view(shape).to_device(device),
        Tensor::from_slice(&targets).view(shape).to_device(device),
    )
}

/// The training batch of (`step`, `micro_step`).
pub fn train_batch(
    tokens: &[u32],
    block_size: usize,
    batch_size: usize,
    seed: u64,
    step: usize,
    micro_step: usize,
    device: Device,
) -> (Tensor, Tensor) {
    let starts = window_starts(
        tokens.len(),
        block_size,
        batch_size,
        derive_seed(&[seed, TRAIN_STREAM, step as u64, micro_step as u64]),
    );
    batch_at(tokens, &starts, block_size, device)
}

/// Validation batch `index`; the same for every evaluation of a run.
pub fn eval_batch(
    tokens: &[u32],
    block_size: usize,
    batch_size: usize,
    seed: u64,
    index: usize,
    device: Device,
) -> (Tensor, Tensor) {
    let starts = window_starts(tokens.len(), block_size, batch_size, derive_seed(&[seed, EVAL_STREAM, index as u64]));
    batch_at(tokens, &starts, block_size, device)
}
