//! The token file: a 32-byte header, then the tokens little-endian.
//!
//! ```text
//! offset  0  magic   b"LLOOMTOK"
//!         8  version u32 = 1
//!        12  width   u32 = 2 (u16 tokens, vocabularies up to 65536) or 4 (u32)
//!        16  count   u64 number of tokens
//!        24  check   u64 first 8 bytes of SHA-256 over the token bytes
//! ```
//!
//! The count detects truncation without reading the payload; the checksum
//! detects any other corruption, at a cost (SHA-256 over a few tens of MB)
//! that is negligible next to training.

use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{IoContext, Result, TrainerError};

const MAGIC: &[u8; 8] = b"LLOOMTOK";
const VERSION: u32 = 1;
pub const HEADER_LEN: usize = 32;

/// The narrowest width that holds every id of a vocabulary.
pub fn width_for_vocab(vocab_size: usize) -> u32 {
    if vocab_size <= 1 << 16 {
        2
    } else {
        4
    }
}

/// Writes `tokens` to `path` via a temporary file, so a crash never leaves a
/// half-written file under the final name.
pub fn write_tokens(path: &Path, tokens: &[u32], vocab_size: usize) -> Result<()> {
    let width = width_for_vocab(vocab_size);
    let mut payload = Vec::with_capacity(tokens.len() * width as usize);
    for &token in tokens {
        if token as usize >= vocab_size {
            return Err(TrainerError::TokenFile {
                path: path.to_owned(),
                reason: format!("token {token} is outside the vocabulary of {vocab_size}"),
            });
        }
        match width {
            2 => payload.extend_from_slice(&(token as u16).to_le_bytes()),
            _ => payload.extend_from_slice(&token.to_le_bytes()),
        }
    }
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&width.to_le_bytes());
    header.extend_from_slice(&(tokens.len() as u64).to_le_bytes());
    header.extend_from_slice(&checksum(&payload).to_le_bytes());

    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).at(&tmp)?;
    file.write_all(&header).at(&tmp)?;
    file.write_all(&payload).at(&tmp)?;
    file.sync_all().at(&tmp)?;
    std::fs::rename(&tmp, path).at(path)
}

/// Writes a token file in pieces, so a corpus never has to sit in memory as
/// one token vector; the header's count and checksum are filled in by
/// [`TokenWriter::finish`], and the file only takes its final name then.
pub struct TokenWriter {
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    file: BufWriter<std::fs::File>,
    hasher: Sha256,
    vocab_size: usize,
    width: u32,
    count: u64,
    buffer: Vec<u8>,
}

impl TokenWriter {
    pub fn create(path: &Path, vocab_size: usize) -> Result<TokenWriter> {
        let tmp = path.with_extension("tmp");
        let mut file = BufWriter::new(std::fs::File::create(&tmp).at(&tmp)?);
        file.write_all(&[0u8; HEADER_LEN]).at(&tmp)?;
        Ok(TokenWriter {
            path: path.to_owned(),
            tmp,
            file,
            hasher: Sha256::new(),
            vocab_size,
            width: width_for_vocab(vocab_size),
            count: 0,
            buffer: Vec::new(),
        })
    }

    pub fn push(&mut self, tokens: &[u32]) -> Result<()> {
        self.buffer.clear();
        for &token in tokens {
            if token as usize >= self.vocab_size {
                return Err(TrainerError::TokenFile {
                    path: self.path.clone(),
                    reason: format!("token {token} is outside the vocabulary of {}", self.vocab_size),
                });
            }
            match self.width {
                2 => self.buffer.extend_from_slice(&(token as u16).to_le_bytes()),
                _ => self.buffer.extend_from_slice(&token.to_le_bytes()),
            }
        }
        self.hasher.update(&self.buffer);
        self.count += tokens.len() as u64;
        self.file.write_all(&self.buffer).at(&self.tmp)
    }

    /// Completes the header and renames the file into place; returns the token count.
    pub fn finish(self) -> Result<u64> {
        let TokenWriter { path, tmp, file, hasher, width, count, .. } = self;
        let mut file = file.into_inner().map_err(|e| TrainerError::Io { path: tmp.clone(), cause: e.into_error() })?;
        let digest = hasher.finalize();
        let check = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&VERSION.to_le_bytes());
        header.extend_from_slice(&width.to_le_bytes());
        header.extend_from_slice(&count.to_le_bytes());
        header.extend_from_slice(&check.to_le_bytes());
        file.seek(SeekFrom::Start(0)).at(&tmp)?;
        file.write_all(&header).at(&tmp)?;
        file.sync_all().at(&tmp)?;
        std::fs::rename(&tmp, &path).at(&path)?;
        Ok(count)
    }
}

/// Reads and verifies a token file; `vocab_size` bounds every token so a file
/// from another tokenizer is caught here rather than as an index error in torch.
pub fn read_tokens(path: &Path, vocab_size: usize) -> Result<Vec<u32>> {
    let bad = |reason: String| TrainerError::TokenFile { path: path.to_owned(), reason };
    let bytes = std::fs::read(path).at(path)?;
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err(bad("not a logitloom token file (bad magic or shorter than its header)".into()));
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let (version, width, count, check) = (u32_at(8), u32_at(12), u64_at(16), u64_at(24));
    if version != VERSION {
        return Err(bad(format!("format version {version}, this build reads {VERSION}")));
    }
    if width != 2 && width != 4 {
        return Err(bad(format!("token width {width} bytes (expected 2 or 4)")));
    }
    let payload = &bytes[HEADER_LEN..];
    let expected_len = count.checked_mul(width as u64).ok_or_else(|| bad(format!("impossible token count {count}")))?;
    if payload.len() as u64 != expected_len {
        return Err(bad(format!(
            "truncated or padded: header says {count} tokens ({expected_len} bytes), file holds {} bytes",
            payload.len()
        )));
    }
    if checksum(payload) != check {
        return Err(bad("checksum mismatch: the file is corrupt".into()));
    }
    let tokens: Vec<u32> = match width {
        2 => payload.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]) as u32).collect(),
        _ => payload.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
    };
    if let Some(position) = tokens.iter().position(|&t| t as usize >= vocab_size) {
        return Err(bad(format!(
            "token {} at position {position} is outside the vocabulary of {vocab_size}",
            tokens[position]
        )));
    }
    Ok(tokens)
}

fn checksum(payload: &[u8]) -> u64 {
    let digest = Sha256::digest(payload);
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}
