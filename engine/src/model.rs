//! The GPT-2 model and [`Model`], the bundle of config, weights, tokenizer
//! and device that generation and scoring use.

use std::path::{Path, PathBuf};

use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

use crate::cpu_decode::DecodePath;
use crate::layers::{AttentionCache, Block, CacheWrite, LayerNorm};
use crate::{EngineError, Gpt2Config, KvCache, Tokenizer};

/// GPT-2: learned positions, pre-LayerNorm blocks, GELU(tanh), and an
/// output projection tied to the token embedding.
pub struct Gpt2 {
    pub config: Gpt2Config,
    pub(crate) wte: Tensor,
    pub(crate) wpe: Tensor,
    pub(crate) blocks: Vec<Block>,
    pub(crate) ln_f: LayerNorm,
    decode_path: DecodePath,
}

impl Gpt2 {
    /// Creates the variables under `p` (randomly initialised; load weights
    /// afterwards with [`crate::hf::load_weights`]).
    pub fn new(p: &nn::Path, config: &Gpt2Config) -> Gpt2 {
        let embd = config.n_embd as i64;
        Gpt2 {
            config: config.clone(),
            wte: (p / "wte").var("weight", &[config.vocab_size as i64, embd], Init::Randn { mean: 0.0, stdev: 0.02 }),
            wpe: (p / "wpe").var("weight", &[config.n_positions as i64, embd], Init::Randn { mean: 0.0, stdev: 0.02 }),
            blocks: (0..config.n_layer).map(|i| Block::new(&(p / "h" / i), config)).collect(),
            ln_f: LayerNorm::new(&(p / "ln_f"), config.n_embd, config.layer_norm_epsilon),
            decode_path: DecodePath::Auto,
        }
    }

    /// Chooses what runs CPU decode steps in [`crate::generate::generate`]
    /// (see [`crate::native`]); results agree to rounding either way.
    pub fn set_decode_path(&mut self, path: DecodePath) {
        self.decode_path = path;
    }
    pub fn decode_path(&self) -> DecodePath {
        self.decode_path
    }

    /// Full-sequence forward for training and scoring: `idx` is `[B, T]`
    /// token ids (`T <= n_positions`); returns `[B, T, vocab]` logits.
    pub fn forward_train(&self, idx: &Tensor, train: bool) -> Tensor {
        let (_, t) = idx.size2().expect("idx is [B, T]");
        let pos = Tensor::arange(t, (Kind::Int64, idx.device()));
        let mut x = (embed(&self.wte, idx) + embed(&self.wpe, &pos)).dropout(self.config.embd_pdrop, train);
        for block in &self.blocks {
            x = block.forward(&x, AttentionCache::None, train);
        }
        self.logits(&self.ln_f.forward(&x))
    }

    /// Projects final hidden states onto the vocabulary (tied weights).
    pub fn logits(&self, hidden: &Tensor) -> Tensor {
        hidden.matmul(&self.wte.tr())
    }

    /// Runs `idx` (`[B, T]`) through the model against `cache`, appending
    /// its keys/values, and returns the final hidden states `[B, T, C]`
    /// (call [`Gpt2::logits`] on the rows you need: at vocabulary 50,257 the
    /// projection is the largest matmul of a step).
    ///
    /// Two shapes of call are supported, matching generation:
    /// * every row at the same cache length, any `T` (prefill, or a chunk);
    /// * `T == 1` with rows at different lengths (batched decode).
    pub fn forward_cached_hidden(&self, idx: &Tensor, cache: &mut KvCache) -> Tensor {
        let (b, t) = idx.size2().expect("idx is [B, T]");
        let device = idx.device();
        assert_eq!(b as usize, cache.batch_size(), "batch does not match the cache");
        let (write, positions) = if cache.is_uniform() {
            let start = cache.len_of(0);
            assert!(start + t as usize <= cache.capacity(), "cache overflow: caller must check");
            let pos = Tensor::arange_start(start as i64, start as i64 + t, (Kind::Int64, device));
            (CacheWrite::Uniform { start, len: t as usize }, pos)
        } else {
            assert_eq!(t, 1, "rows of different lengths decode one token at a time");
            let lengths: Vec<i64> = cache.lengths().iter().map(|&l| l as i64).collect();
            let window = *cache.lengths().iter().max().expect("non-empty batch") + 1;
            assert!(window <= cache.capacity(), "cache overflow: caller must check");
            let positions = Tensor::from_slice(&lengths).to_device(device);
            let index = positions.view([b, 1, 1, 1]);
            // Row r may attend to positions 0..=lengths[r].
            let mask =
                Tensor::arange(window as i64, (Kind::Int64, device)).view([1, 1, 1, window as i64]).le_tensor(&index);
            (CacheWrite::Ragged { index, mask, window }, positions.view([b, 1]))
        };
        let mut x = embed(&self.wte, idx) + embed(&self.wpe, &positions);
        for (i, block) in self.blocks.iter().enumerate() {
            let layer_cache =
                AttentionCache::Layer { keys: &mut cache.keys[i], values: &mut cache.values[i], write: &write };
            x = block.forward(&x, layer_cache, false);
        }
        let lengths: Vec<usize> = cache.lengths().to_vec();
        for (row, len) in lengths.into_iter().enumerate() {
            cache.set_len(row, len + t as usize);
        }
        self.ln_f.forward(&x)
    }

    /// [`forward_cached_hidden`](Gpt2::forward_cached_hidden) followed by
    /// the vocabulary projection of every position: `[B, T, vocab]`.
    pub fn forward_cached(&self, idx: &Tensor, cache: &mut KvCache) -> Tensor {
        let hidden = self.forward_cached_hidden(idx, cache);
        self.logits(&hidden)
    }
}

fn embed(table: &Tensor, ids: &Tensor) -> Tensor {
    Tensor::embedding(table, ids, -1, false, false)
}

/// A loaded model ready for generation or scoring.
pub struct Model {
    pub gpt: Gpt2,
    pub vs: nn::VarStore,
    pub tokenizer: Tokenizer,
    pub device: Device,
    pub kind: Kind,
    pub dir: PathBuf,
}

impl Model {
    /// The default model shipped in the repository (`models/default`), or
    /// `$LOGITLOOM_MODEL` when set.
    pub fn default_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("LOGITLOOM_MODEL") {
            return PathBuf::from(dir);
        }
        let engine_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        engine_dir.parent().unwrap_or(engine_dir).join("models").join("default")
    }

    /// Loads a Hugging Face-layout model directory onto `device` in `kind`.
    pub fn load(dir: &Path, device: Device, kind: Kind) -> Result<Model, EngineError> {
        let (config, vs, gpt) = crate::hf::load_model_dir(dir, device, kind)?;
        let tokenizer = Tokenizer::from_file(&dir.join("tokenizer.json"))?;
        let _ = config;
        Ok(Model { gpt, vs, tokenizer, device, kind, dir: dir.to_path_buf() })
    }

    pub fn config(&self) -> &Gpt2Config {
        &self.gpt.config
    }
}

impl Gpt2 {
    pub fn device(&self) -> Device {
        self.wte.device()
    }
    pub fn kind(&self) -> Kind {
        self.wte.kind()
    }
}
