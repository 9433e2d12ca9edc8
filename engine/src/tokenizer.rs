//! Byte-level BPE tokenizer (the `tokenizers` crate), with the per-token
//! byte strings that grammar-aware processors need.

use std::collections::HashMap;
use std::path::Path;

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

/// GPT-2's byte-to-character table (`bytes_to_unicode` in the original
/// encoder.py): printable Latin-1 bytes map to themselves, the rest to
/// U+0100 onwards, so every byte has a visible stand-in in the vocabulary.
pub fn byte_level_alphabet() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u32 {
        let printable = (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
        table[b as usize] = if printable {
            char::from_u32(b).expect("Latin-1 is valid")
        } else {
            let c = char::from_u32(next).expect("BMP char");
            next += 1;
            c
        };
    }
    table
}

fn compute_token_bytes(tok: &tokenizers::Tokenizer) -> Vec<Vec<u8>> {
    let inverse: HashMap<char, u8> =
        byte_level_alphabet().iter().enumerate().map(|(b, &c)| (c, b as u8)).collect();
    let size = tok.get_vocab_size(true);
    let added: HashMap<u32, String> =
        tok.get_added_tokens_decoder().into_iter().map(|(id, t)| (id, t.content)).collect();
    (0..size as u32)
        .map(|id| {
            if let Some(content) = added.get(&id) {
                return content.as_bytes().to_vec();
            }
            let Some(piece) = tok.id_to_token(id) else { return Vec::new() };
            // A byte-level token maps char by char; anything else (a
            // tokenizer that is not byte-level) is taken as UTF-8 text.
            piece
                .chars()
                .map(|c| inverse.get(&c).copied())
                .collect::<Option<Vec<u8>>>()
                .unwrap_or_else(|| piece.into_bytes())
        })
        .collect()
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
    fn alphabet_matches_gpt2() {
        let t = byte_level_alphabet();
        assert_eq!(t[b' ' as usize], 'Ġ');
        assert_eq!(t[b'\n' as usize], 'Ċ');
        assert_eq!(t[b'a' as usize], 'a');
        assert_eq!(t[0], 'Ā');
    }

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
