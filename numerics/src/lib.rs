//! # logitloom numerics
//!
//! The few pieces of arithmetic that several layers need to compute *the
//! same way*: the sampler plugins (natively and in WASM), the CPU decode
//! kernels of the engine, the trainer's data loader and the test and
//! benchmark input generators; and the byte string of every token of a
//! byte-level vocabulary, which the engine and the Python package (which
//! must not link the engine) both compute for the grammar stages.
//!
//! ## Design choices
//!
//! * **Bit-reproducible across platforms.** [`exp`] uses only `+ - *`,
//!   compares and integer conversions, and the generators only integer
//!   shifts, rotations and wrapping multiplies. IEEE fixes every result
//!   bit, so a seed or a logit means the same thing on x86-64, aarch64 and
//!   wasm32, and in every release.
//! * **No dependencies.** It sits below the plugin API's users and the
//!   engine alike, and builds for `wasm32-unknown-unknown`.
//! * **One generator family.** splitmix64 (for seeding and for quick
//!   hashing) and xoshiro256** (for sampling). Before this crate the
//!   project had five hand-rolled generators; their outputs are not needed
//!   anywhere bit for bit, so they all became these two.

mod byte_level;
mod exp;
mod hash;
mod rng;

pub use byte_level::{byte_level_alphabet, token_bytes, ByteLevelDecoder, Piece};
pub use exp::exp;
pub use hash::{fnv1a_u32s, mix64, Fnv1a};
pub use rng::{splitmix64, Rng, SplitMix64};
