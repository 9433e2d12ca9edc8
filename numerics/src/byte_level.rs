//! The byte string behind every token of a byte-level BPE vocabulary.
//!
//! The engine (which links libtorch) and the Python package (which must not)
//! both turn a `tokenizers` vocabulary into token byte strings, and a grammar
//! stage's masks depend on them bit for bit, so they share this code rather
//! than two copies kept equal by a test. It lives here because this is the
//! one crate below both that has no dependencies: the callers look the
//! pieces up in their own `tokenizers::Tokenizer`.

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

/// The stand-ins run from U+0021 to U+0143: a table indexed by code point.
const STAND_INS: usize = 0x144;

/// Decodes byte-level vocabulary pieces back to bytes.
pub struct ByteLevelDecoder {
    byte_of: [Option<u8>; STAND_INS],
}

impl Default for ByteLevelDecoder {
    fn default() -> Self {
        let mut byte_of = [None; STAND_INS];
        for (b, c) in byte_level_alphabet().iter().enumerate() {
            byte_of[*c as usize] = Some(b as u8);
        }
        ByteLevelDecoder { byte_of }
    }
}

impl ByteLevelDecoder {
    /// The bytes of one vocabulary piece. A piece with a character outside
    /// the alphabet is not byte-level (another kind of tokenizer) and is
    /// taken as UTF-8 text.
    pub fn piece_bytes(&self, piece: &str) -> Vec<u8> {
        piece
            .chars()
            .map(|c| self.byte_of.get(c as usize).copied().flatten())
            .collect::<Option<Vec<u8>>>()
            .unwrap_or_else(|| piece.as_bytes().to_vec())
    }
}

/// What a vocabulary says about one token id.
pub enum Piece {
    /// An added (special) token: its content is its text, taken literally.
    Added(String),
    /// A piece of the model's vocabulary, in the byte-level alphabet.
    Vocab(String),
    /// An id the vocabulary does not know: no bytes.
    Unknown,
}

/// Every token's byte string, ids `0..vocab_size`, from a lookup into the
/// caller's tokenizer.
pub fn token_bytes(vocab_size: usize, mut piece: impl FnMut(u32) -> Piece) -> Vec<Vec<u8>> {
    let decoder = ByteLevelDecoder::default();
    (0..vocab_size as u32)
        .map(|id| match piece(id) {
            Piece::Added(content) => content.into_bytes(),
            Piece::Vocab(p) => decoder.piece_bytes(&p),
            Piece::Unknown => Vec::new(),
        })
        .collect()
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
        assert_eq!(t[255], 'ÿ');
        let max = t.iter().map(|&c| c as usize).max().unwrap();
        assert_eq!(max + 1, STAND_INS, "the decoder's table must cover every stand-in");
    }

    #[test]
    fn every_byte_round_trips() {
        let t = byte_level_alphabet();
        let piece: String = t.iter().collect();
        assert_eq!(ByteLevelDecoder::default().piece_bytes(&piece), (0..=255u8).collect::<Vec<_>>());
    }

    #[test]
    fn pieces_outside_the_alphabet_are_utf8_and_added_tokens_literal() {
        let d = ByteLevelDecoder::default();
        assert_eq!(d.piece_bytes("ĠpublicĊ"), b" public\n");
        // U+4E2D is no stand-in: the piece is plain text.
        assert_eq!(d.piece_bytes("a中"), "a中".as_bytes());
        let bytes = token_bytes(4, |id| match id {
            0 => Piece::Added("<|endoftext|>".into()),
            1 => Piece::Vocab("Ġx".into()),
            2 => Piece::Unknown,
            _ => Piece::Vocab("Ā".into()),
        });
        assert_eq!(bytes, vec![b"<|endoftext|>".to_vec(), b" x".to_vec(), vec![], vec![0u8]]);
    }
}
