//! # The standard logit processors and samplers of logitloom
//!
//! Every processor here implements [`LogitProcessor`] and is listed by
//! [`library`]; the plugin host wraps the same list as a native library,
//! a WASM module and a built-in registry.
//!
//! ## Design choices
//!
//! * **Same bits everywhere.** The same source is compiled natively and to
//!   `wasm32-unknown-unknown`, and both must choose the same tokens for the
//!   same seed. So: `exp` is our own (`row::exp`, plain IEEE arithmetic)
//!   and `log` comes from `libm` (platform maths libraries round
//!   differently), sums in a fixed (token id) order, orderings that are
//!   strict total orders (ties broken by token id) so an unstable selection
//!   cannot leak its platform-dependent moves, no hash-map iteration, no
//!   threads, no clocks, and our own PRNG (`logitloom_numerics::Rng`).
//! * **Cheap at a 50k vocabulary.** A typical chain (repetition penalty,
//!   top-k, top-p, multinomial) must stay well under 100 µs per token (it
//!   takes 45–95 µs on a 2-core box; docs/performance.md), so nothing sorts the
//!   vocabulary: top-k keeps a buffer of candidates, top-p buckets the mass by
//!   distance from the max and sorts only the bucket where `p` is crossed,
//!   penalties touch only tokens seen in the history. Scans test 16 entries
//!   at a time with SIMD compares and skip blocks an earlier stage removed
//!   (`-inf`), so stages after a filter touch only the few live blocks
//!   (top-p gathers them into a list; multinomial walks their weights in
//!   place). Scratch buffers live in the processor and are reused across
//!   steps.
//! * **Reference semantics.** Each processor follows a named reference
//!   implementation (Hugging Face `transformers`, OpenAI, llama.cpp) and
//!   says so in its doc comment, including how ties are broken.

pub mod periodic;
pub mod row;

mod dry;
mod entropy_backtrack;
mod entropy_logger;
mod history;
mod loop_breaker;
mod min_p;
mod no_repeat_ngram;
mod penalties;
mod samplers;
mod temperature;
mod top_k;
mod top_p;

pub use dry::Dry;
pub use entropy_backtrack::EntropyBacktrack;
pub use entropy_logger::EntropyLogger;
pub use loop_breaker::LoopBreaker;
pub use min_p::MinP;
pub use no_repeat_ngram::NoRepeatNgram;
pub use penalties::{FrequencyPresencePenalty, RepetitionPenalty};
pub use samplers::{Greedy, Multinomial};
pub use temperature::Temperature;
pub use top_k::TopK;
pub use top_p::TopP;

use logitloom_plugin_api::ProcessorEntry;

/// Every standard processor, in the order `plugins list` shows them.
pub fn library() -> Vec<ProcessorEntry> {
    vec![
        ProcessorEntry::of::<Temperature>(),
        ProcessorEntry::of::<TopK>(),
        ProcessorEntry::of::<TopP>(),
        ProcessorEntry::of::<MinP>(),
        ProcessorEntry::of::<RepetitionPenalty>(),
        ProcessorEntry::of::<FrequencyPresencePenalty>(),
        ProcessorEntry::of::<NoRepeatNgram>(),
        ProcessorEntry::of::<Dry>(),
        ProcessorEntry::of::<EntropyLogger>(),
        ProcessorEntry::of::<LoopBreaker>(),
        ProcessorEntry::of::<EntropyBacktrack>(),
        ProcessorEntry::of::<Greedy>(),
        ProcessorEntry::of::<Multinomial>(),
    ]
}
