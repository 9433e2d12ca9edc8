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

/// A toy check: once a `.S` member access was written, no token may start
/// another one (the report's `.S.S.S` loop).
struct NoRepeatedDotS {
    seen: bool,
}

impl logitloom_java_grammar::semantic::SemanticCheck for NoRepeatedDotS {
    fn name(&self) -> &str {
        "no-repeated-dot-s"
    }
    fn observe(&mut self, token_bytes: &[u8]) {
        self.seen |= token_bytes.windows(2).any(|w| w == b".S");
    }
    fn allows(&self, token_bytes: &[u8]) -> bool {
        !(self.seen && token_bytes.starts_with(b".S"))
    }
    fn fork(&self) -> Box<dyn logitloom_java_grammar::semantic::SemanticCheck> {
        Box::new(NoRepeatedDotS { seen: self.seen })
    }
}

#[test]
fn semantic_checks_only_remove_tokens() {
    let (vocab, tokens, _) = vocab();
    let id = |s: &str| tokens.iter().position(|t| t == s.as_bytes()).unwrap() as u32;
    let mut plain = JavaConstraint::new(vocab.clone(), StartMode::MethodBody(BodyKind::Void)).unwrap();
    let mut checked = JavaConstraint::new(vocab, StartMode::MethodBody(BodyKind::Void)).unwrap();
    checked.add_check(NoRepeatedDotS { seen: false });
    for c in [&mut plain, &mut checked] {
        c.feed(&[id("x"), id(".S")]).unwrap();
    }
    let (without, with) = (plain.mask().unwrap(), checked.mask().unwrap());
    assert!(without.is_allowed(id(".S")) && without.is_allowed(id(".S.S")));
    assert!(!with.is_allowed(id(".S")) && !with.is_allowed(id(".S.S")));
    // Everything else is untouched: exactly the two vetoed tokens differ.
    let differing = (0..tokens.len() as u32).filter(|&t| without.is_allowed(t) != with.is_allowed(t)).count();
    assert_eq!(differing, 2);
}
