//! Byte-level BPE tokenizer (the `tokenizers` crate), with the per-token
//! byte strings that grammar-aware processors need.

use std::collections::HashMap;
use std::path::Path;

use logitloom_numerics::Piece;

use crate::EngineError;

/// The end-of-text token every GPT-2 tokenizer of ours carries.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// Reads a `tokenizer.json` into the `tokenizers` crate's type, with every
/// failure as one line naming the file.
///
/// `tokenizers` 0.22 *panics* on some malformed files instead of returning
/// an error: a `decoder` cut short (a truncated download) hits an
/// `expect("Helper")` in its deserializer (found by the `model_dir` fuzz
/// target). So the text is first checked to be JSON at all, which rules
/// that case out with a clear message, and the parse itself runs under
/// `catch_unwind` in case another path panics the same way.
pub fn read_tokenizer_json(path: &Path) -> Result<tokenizers::Tokenizer, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&text) {
        return Err(format!("{shown}: not a tokenizer.json: invalid JSON: {e}"));
    }
    match std::panic::catch_unwind(|| text.parse::<tokenizers::Tokenizer>()) {
        Ok(Ok(tokenizer)) => Ok(tokenizer),
        Ok(Err(e)) => Err(format!("{shown}: not a tokenizer.json: {e}")),
        Err(_) => Err(format!("{shown}: not a tokenizer.json (the tokenizers crate panicked reading it)")),
    }
}

pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    token_bytes: Vec<Vec<u8>>,
}

impl Tokenizer {
    pub fn from_file(path: &Path) -> Result<Tokenizer, EngineError> {
        if !path.exists() {
            return Err(EngineError::Tokenizer(format!("{} does not exist", path.display())));
        }
        let inner = read_tokenizer_json(path).map_err(EngineError::Tokenizer)?;
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
