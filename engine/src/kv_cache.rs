//! The key/value cache: allocated once, per layer, for a batch of
//! sequences that each keep their own length.

use tch::{Device, Kind, Tensor};

use crate::Gpt2Config;

/// Keys and values of every layer, shaped `[batch, heads, capacity, head_dim]`.
///
/// Rows are independent: sequence `b` occupies positions `0..lengths[b]`;
/// whatever lies beyond is stale and masked out of attention, which is what
/// makes [`truncate`](KvCache::truncate) free.
pub struct KvCache {
    pub(crate) keys: Vec<Tensor>,
    pub(crate) values: Vec<Tensor>,
    lengths: Vec<usize>,
    capacity: usize,
}

impl KvCache {
    /// Preallocates room for `capacity` positions (normally the context
    /// length) for `batch` sequences.
    pub fn new(config: &Gpt2Config, batch: usize, capacity: usize, device: Device, kind: Kind) -> KvCache {
        let shape = [batch as i64, config.n_head as i64, capacity as i64, config.head_dim() as i64];
        let alloc = || Tensor::zeros(shape, (kind, device));
        KvCache {
            keys: (0..config.n_layer).map(|_| alloc()).collect(),
            values: (0..config.n_layer).map(|_| alloc()).collect(),
            lengths: vec![0; batch],
            capacity,
        }
    }

    pub fn batch_size(&self) -> usize {
        self.lengths.len()
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// Positions filled for each sequence.
    pub fn lengths(&self) -> &[usize] {
        &self.lengths
    }
    pub fn len_of(&self, sequence: usize) -> usize {
        self.lengths[sequence]
    }
    /// True when every sequence has the same length (the fast path: no mask).
    pub fn is_uniform(&self) -> bool {
        self.lengths.windows(2).all(|w| w[0] == w[1])
    }

    /// Rewinds one sequence to an earlier position; later entries are
    /// simply ignored until overwritten.
    pub fn truncate(&mut self, sequence: usize, len: usize) {
        assert!(len <= self.lengths[sequence], "truncate can only move back");
        self.lengths[sequence] = len;
    }

    /// Empties every sequence.
    pub fn reset(&mut self) {
        self.lengths.iter_mut().for_each(|l| *l = 0);
    }

    pub(crate) fn set_len(&mut self, sequence: usize, len: usize) {
        assert!(len <= self.capacity);
        self.lengths[sequence] = len;
    }
}

impl KvCache {
    /// Sets a sequence's length after its rows were written directly
    /// (context slide); unlike `truncate` it may move forward.
    pub(crate) fn truncate_or_set(&mut self, sequence: usize, len: usize) {
        self.set_len(sequence, len);
    }
}
