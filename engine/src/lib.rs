//! # logitloom engine
//!
//! GPT-2 on libtorch (through `tch`) with a preallocated, batched KV cache
//! and a generation loop that hands every step's logits to a per-sequence
//! [`generate::SequenceSampler`]. The engine knows nothing of plugins:
//! `logitloom-runtime` implements that sampler with a chain of logit
//! processors, so this crate builds on `tch` alone.
//!
//! ## Design choices
//!
//! * **The model is exactly Hugging Face's GPT-2.** Tensor names, the
//!   transposed Conv1D weights, GELU(tanh), tied embeddings and the
//!   `config.json` keys all follow `transformers`, so a downloaded `gpt2`
//!   snapshot loads unchanged and our checkpoints load in `transformers`.
//!   Parity is checked against golden files made by
//!   `engine/scripts/make_golden.py`.
//! * **One struct per layer, each with `new` and `forward`** (candle's
//!   habit), and the KV cache is a separate struct passed by `&mut`, so the
//!   same weights serve training (no cache), scoring and generation.
//! * **The cache is allocated once** to the context length for the whole
//!   batch. Each sequence keeps its own length; a decode step writes every
//!   sequence's new key/value at its own position with one scatter and masks
//!   attention per row. Nothing grows or is concatenated per step, and the
//!   cache can be truncated back to any earlier position.
//! * **Logits leave the device as `f32`** whatever the model dtype, because
//!   processors and samplers must see the same numbers on every device.
//! * **CPU decode steps do not go through libtorch** ([`native`]): at one
//!   token per sequence a step is memory-bound matrix-vector products and
//!   small ops that libtorch dispatches one by one, so a hand-written step
//!   over the same weight tensors and the same cache is ~2x faster in bf16.
//!   Prefill, context slides and GPUs stay on libtorch.

pub mod config;
pub mod cpu_decode;
pub mod device;
pub mod generate;
pub mod hf;
pub mod kv_cache;
pub mod layers;
pub mod model;
pub mod score;
pub mod tokenizer;

mod error;

pub use config::Gpt2Config;
pub use cpu_decode::DecodePath;
pub use device::{cuda_autocast_kind, parse_device, parse_dtype, set_cuda_autocast_kind};
pub use error::EngineError;
pub use kv_cache::KvCache;
pub use model::{Gpt2, Model};
pub use tokenizer::Tokenizer;
