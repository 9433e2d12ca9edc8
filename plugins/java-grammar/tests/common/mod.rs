//! Shared helpers: a byte-level vocabulary and whole-text parsing.
#![allow(dead_code)]

use std::sync::Arc;

use logitloom_java_grammar::{ConstraintError, JavaConstraint, StartMode, Vocabulary};

/// Token `b` is the single byte `b`; token 256 is EOS.
pub const BYTE_EOS: u32 = 256;

pub fn byte_vocab() -> Arc<Vocabulary> {
    let tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).chain([b"<|endoftext|>".to_vec()]).collect();
    Vocabulary::shared(&tokens, tokens.len(), BYTE_EOS).unwrap()
}

/// Parses `src` byte by byte in `mode` and then requires EOS to be allowed.
pub fn check(mode: StartMode, src: &str) -> Result<(), ConstraintError> {
    let mut c = JavaConstraint::new(byte_vocab(), mode)?;
    let tokens: Vec<u32> = src.bytes().map(u32::from).collect();
    c.feed(&tokens)?;
    c.feed(&[BYTE_EOS])
}

#[track_caller]
pub fn accepts(mode: StartMode, src: &str) {
    if let Err(e) = check(mode, src) {
        panic!("rejected a valid program: {e}\n---\n{src}");
    }
}

/// Asserts that `src` is rejected, and that the token that breaks it is at
/// the 1-based `line`/`column` (the position right after the valid prefix).
#[track_caller]
pub fn rejects_at(mode: StartMode, src: &str, line: usize, column: usize) {
    match check(mode, src) {
        Ok(()) => panic!("accepted an invalid program:\n{src}"),
        Err(ConstraintError::Rejected { line: l, column: c, .. }) => {
            assert_eq!((l, c), (line, column), "rejected at the wrong place:\n{src}")
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}
