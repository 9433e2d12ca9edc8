//! Byte-level BPE tokenizer (the `tokenizers` crate), with the per-token
//! byte strings that grammar-aware processors need.

use std::collections::HashMap;
use std::path::Path;

use logitloom_numerics::Piece;

use crate::EngineError;

/// The end-of-text token every GPT-2 tokenizer of ours carries.
pub const END_OF_TEXT: &str = "<|endoftext|>";

pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    token_bytes: Vec<Vec<u8>>,
}

impl Tokenizer {
    pub fn from_file(path: &Path) -> Result<Tokenizer, EngineError> {
        if !path.exists() {
            return Err(EngineError::Tokenizer(format!("{} does not exist", path.display())));
        }
        let inner = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| EngineError::Tokenizer(format!("{}: {e}", path.display())))?;
        Ok(Self::from_inner(inner))
    }

    pub fn from_inner(inner: tokenizers::Tokenizer) -> Tokenizer {
        let token_bytes = compute_token_bytes(&inner);
        Tokenizer { inner, token_bytes }
    }

    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }

    /// Number of token ids the tokenizer knows, special tokens included.
    pub fn vocab_size(&self) -> usize {
        self.token_bytes.len()
    }

    pub fn eos_token_id(&self) -> Option<u32> {
        self.inner.token_to_id(END_OF_TEXT)
    }

    pub fn encode(&self, text: &str) -> Result<Vec<u32>, EngineError> {
        let enc = self.inner.encode(text, false).map_err(|e| EngineError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Decodes through the token byte strings, so invalid UTF-8 (a token
    /// boundary inside a character) becomes U+FFFD instead of an error.
    pub fn decode(&self, ids: &[u32]) -> String {
        String::from_utf8_lossy(&self.bytes_of(ids)).into_owned()
    }

    pub fn bytes_of(&self, ids: &[u32]) -> Vec<u8> {
        let mut out = Vec::new();
        for &id in ids {
            out.extend_from_slice(self.token_bytes(id));
        }
        out
    }

    /// The exact bytes token `id` stands for (empty for unknown ids).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.token_bytes.get(id as usize).map_or(&[], |b| b.as_slice())
    }

    pub fn all_token_bytes(&self) -> &[Vec<u8>] {
        &self.token_bytes
    }
}

/// Every token's byte string; the computation is shared with the Python
/// package (which must not link this crate) in `logitloom_numerics`.
fn compute_token_bytes(tok: &tokenizers::Tokenizer) -> Vec<Vec<u8>> {
    let added: HashMap<u32, String> =
        tok.get_added_tokens_decoder().into_iter().map(|(id, t)| (id, t.content)).collect();
    logitloom_numerics::token_bytes(tok.get_vocab_size(true), |id| match added.get(&id) {
        Some(content) => Piece::Added(content.clone()),
        None => tok.id_to_token(id).map_or(Piece::Unknown, Piece::Vocab),
    })
}

/// Turns a stream of token byte strings into printable text, holding back
/// an incomplete UTF-8 sequence until the token that completes it arrives.
#[derive(Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let valid_up_to = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // A byte sequence that can never become valid: let it through lossily.
            Err(_) => self.pending.len(),
        };
        let out = String::from_utf8_lossy(&self.pending[..valid_up_to]).into_owned();
        self.pending.drain(..valid_up_to);
        out
    }

    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_stream_holds_back_split_characters() {
        let mut s = Utf8Stream::default();
        let e_acute = "é".as_bytes();
        assert_eq!(s.push(b"caf"), "caf");
        assert_eq!(s.push(&e_acute[..1]), "");
        assert_eq!(s.push(&e_acute[1..]), "é");
        assert_eq!(s.finish(), "");
    }
}
