//! Byte-level BPE in the GPT-2 style, trained with the `tokenizers` crate.
//!
//! Byte-level means every byte has a token, so any file encodes without
//! unknown tokens; the GPT-2 pre-tokenizer splits on its regex without adding
//! a prefix space (code has no "start of sentence" word boundary to imitate).

use std::path::Path;

use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{Result, TrainerError};

/// Separates files in the token stream and ends generation.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// Trains a tokenizer of `vocab_size` tokens (256 bytes + merges + `<|endoftext|>`).
pub fn train_bpe<S: AsRef<str> + Send>(
    texts: impl Iterator<Item = S> + Send,
    vocab_size: usize,
    show_progress: bool,
) -> Result<Tokenizer> {
    let failed = |reason: String| TrainerError::Tokenizer { path: "<training>".into(), reason };
    let alphabet_len = ByteLevel::alphabet().len();
    if vocab_size <= alphabet_len {
        return Err(failed(format!("vocabulary size {vocab_size} must exceed the {alphabet_len} byte tokens")));
    }
    let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(show_progress)
        .special_tokens(vec![AddedToken::from(END_OF_TEXT, true)])
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build()
        .into();
    let mut tokenizer = Tokenizer::new(BPE::default());
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tokenizer.with_post_processor(Some(ByteLevel::new(false, true, true)));
    tokenizer.with_decoder(Some(ByteLevel::new(false, true, true)));
    tokenizer.train(&mut trainer, texts).map_err(|e| failed(e.to_string()))?;
    Ok(tokenizer)
}

/// Loads a user's tokenizer.json; it must know `<|endoftext|>`.
pub fn load_tokenizer(path: &Path) -> Result<Tokenizer> {
    let tokenizer = logitloom_engine::tokenizer::read_tokenizer_json(path)
        .map_err(|reason| TrainerError::Tokenizer { path: path.to_owned(), reason })?;
    end_of_text_id(&tokenizer, path)?;
    Ok(tokenizer)
}

pub fn end_of_text_id(tokenizer: &Tokenizer, path: &Path) -> Result<u32> {
    tokenizer.token_to_id(END_OF_TEXT).ok_or_else(|| TrainerError::Tokenizer {
        path: path.to_owned(),
        reason: format!("has no `{END_OF_TEXT}` token"),
    })
}
