//! A mask allows exactly the tokens whose bytes keep the program valid.
//!
//! The oracle tries every token of a small vocabulary by feeding its bytes
//! one at a time as single-byte tokens — the parser's consume path, not the
//! trie walk that computes masks — and EOS by asking whether the text is
//! complete. Masks are compared with it at every byte position of several
//! programs, in all start modes.

use std::sync::Arc;

use logitloom_java_grammar::{BodyKind, JavaConstraint, StartMode, Vocabulary};

/// Tokens that cross lexeme boundaries and carry leading spaces, as
/// byte-level BPE tokens do, besides every single byte.
const MULTI_BYTE: &[&str] = &[
    " return", "return", " return;", "){", "();", ") {", " {", "}\n", "\n    ", " int", "int", " void",
    " class", "class", " boolean", "ret", "urn", " =", " ==", "++", "--", ">>", ">>>", ">>=", "->", "::",
    "\"\"\"", "\"\"\"\n", "/*", "*/", "//", "\"", "'", ".S", ".S.S", " yield", " new", " String", "<>",
    "List<", "1.5", "0x", "e1", "_1", " extends", " x", "x", " (", "));", "; }", "@Override", " @", "é",
];

fn vocab() -> (Arc<Vocabulary>, Vec<Vec<u8>>, u32) {
    let mut tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    tokens.extend(MULTI_BYTE.iter().map(|s| s.as_bytes().to_vec()));
    let eos = tokens.len() as u32;
    tokens.push(b"<|endoftext|>".to_vec());
    (Vocabulary::shared(&tokens, tokens.len(), eos).unwrap(), tokens, eos)
}

fn oracle_allows(state: &JavaConstraint, bytes: &[u8]) -> bool {
    let mut probe = state.fork();
    let singles: Vec<u32> = bytes.iter().map(|&b| u32::from(b)).collect();
    probe.feed(&singles).is_ok()
}

fn check_every_prefix(mode: StartMode, program: &str) {
    let (vocab, tokens, eos) = vocab();
    let mut state = JavaConstraint::new(vocab, mode).unwrap();
    for (pos, byte) in program.bytes().enumerate() {
        let mask = state.mask().unwrap();
        for (id, bytes) in tokens.iter().enumerate() {
            let expected = if id as u32 == eos { state.fork().is_complete() } else { oracle_allows(&state, bytes) };
            assert_eq!(
                mask.is_allowed(id as u32),
                expected,
                "token {:?} after {:?} ({mode} mode, byte {pos})",
                String::from_utf8_lossy(bytes),
                &program[..pos]
            );
        }
        state.feed(&[u32::from(byte)]).unwrap();
    }
}

#[test]
fn masks_match_the_oracle_in_a_file() {
    check_every_prefix(
        StartMode::File,
        "import a.*;\nclass A<T> { boolean search(int key) { return key == 1; }\n void f() { String s = \"\"\"\n x\"\"\"; /* c */ g(x -> { return; }); } }\n",
    );
}

#[test]
fn masks_match_the_oracle_in_bodies() {
    check_every_prefix(StartMode::ClassBody, "@Override int g() { return a >> b; } List<List<X>> l;");
    check_every_prefix(StartMode::MethodBody(BodyKind::Infer), "int y = switch (x) { case 1 -> { yield 2; } default -> 0; }; return y;");
    check_every_prefix(StartMode::MethodBody(BodyKind::Void), "if (x) return; char c = 'é';");
}
