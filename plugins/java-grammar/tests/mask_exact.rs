//! A mask allows exactly the tokens whose bytes keep the program valid.
//!
//! The oracle tries every token of a small vocabulary by feeding its bytes
//! one at a time as single-byte tokens — the parser's consume path, not the
//! trie walk that computes masks — and EOS by asking whether the text is
//! complete. Masks are compared with it at every byte position of several
//! programs, in all start modes.

use std::sync::Arc;

use logitloom_java_grammar::{BodyKind, JavaConstraint, StartMode, Vocabulary};
use toktrie::SimpleVob;

/// Tokens that cross lexeme boundaries and carry leading spaces, as
/// byte-level BPE tokens do, besides every single byte.
const MULTI_BYTE: &[&str] = &[
    " return",
    "return",
    " return;",
    "){",
    "();",
    ") {",
    " {",
    "}\n",
    "\n    ",
    " int",
    "int",
    " void",
    " class",
    "class",
    " boolean",
    "ret",
    "urn",
    " =",
    " ==",
    "++",
    "--",
    ">>",
    ">>>",
    ">>=",
    "->",
    "::",
    "\"\"\"",
    "\"\"\"\n",
    "/*",
    "*/",
    "//",
    "\"",
    "'",
    ".S",
    ".S.S",
    " yield",
    " new",
    " String",
    "<>",
    "List<",
    "1.5",
    "0x",
    "e1",
    "_1",
    " extends",
    " x",
    "x",
    " (",
    "));",
    "; }",
    "@Override",
    " @",
    "é",
    // Word classes (whitespace + an identifier unrelated to any grammar
    // word) and their near misses: keyword prefixes and extensions, bare
    // words that continue an identifier, a number or a keyword.
    " foo",
    " Data",
    " s1000",
    " size",
    " $y",
    " get",
    " i",
    " interfaces",
    " ret",
    "\n    x",
    "\n    foo",
    "\n    int",
    "foo",
    "Bar",
    "s1000",
    "tu",
    "nt",
    "le",
    "ff",
    "L",
    "f",
    "5",
    "123",
    "xyz",
    // Comment and string text, which whole slices allow.
    " */",
    "**",
    " * ",
    "\"foo",
    "foo\"",
    " is a",
    "a b\n",
];

fn vocab() -> (Arc<Vocabulary>, Vec<Vec<u8>>, u32) {
    let mut tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    tokens.extend(MULTI_BYTE.iter().map(|s| s.as_bytes().to_vec()));
    let eos = tokens.len() as u32;
    tokens.push(b"<|endoftext|>".to_vec());
    (Vocabulary::shared(&tokens, tokens.len(), eos).unwrap(), tokens, eos)
}

/// The vocabulary really has word classes, so the tests below exercise them.
#[test]
fn the_test_vocabulary_has_word_classes() {
    let (vocab, _, _) = vocab();
    assert!(vocab.tokens_in_word_classes() >= 6, "{}", vocab.tokens_in_word_classes());
}

/// Splits `program` into the longest tokens of the vocabulary.
fn tokenize_greedily(tokens: &[Vec<u8>], eos: u32, program: &str) -> Vec<u32> {
    let bytes = program.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let (id, len) = tokens
            .iter()
            .enumerate()
            .filter(|&(id, t)| id as u32 != eos && bytes[pos..].starts_with(t))
            .map(|(id, t)| (id as u32, t.len()))
            .max_by_key(|&(_, len)| len)
            .expect("every byte is a token");
        out.push(id);
        pos += len;
    }
    out
}

/// Masks after consuming multi-byte tokens (word-class members consumed
/// through their representative) equal the oracle run on a state that was
/// fed the same text one byte at a time.
fn check_every_token(mode: StartMode, program: &str) {
    let (vocab, tokens, eos) = vocab();
    let program_tokens = tokenize_greedily(&tokens, eos, program);
    let members_used = program_tokens
        .iter()
        .filter(|&&t| {
            [" foo", " Data", " size", " s1000", " get", " $y"].iter().any(|m| tokens[t as usize] == m.as_bytes())
        })
        .count();
    assert!(members_used >= 2, "the program should use word-class tokens");
    let mut by_tokens = JavaConstraint::new(vocab.clone(), mode).unwrap();
    let mut by_bytes = JavaConstraint::new(vocab, mode).unwrap();
    for &t in &program_tokens {
        let mask = by_tokens.mask().unwrap();
        assert_mask_is_the_oracle(&mask, &by_bytes, &tokens, eos, &format!("{mode} mode"));
        by_tokens.accept(t).unwrap();
        let singles: Vec<u32> = tokens[t as usize].iter().map(|&b| u32::from(b)).collect();
        by_bytes.feed(&singles).unwrap();
        assert_eq!(by_tokens.text(), by_bytes.text());
    }
}

#[test]
fn masks_match_the_oracle_when_fed_by_word_tokens() {
    check_every_token(
        StartMode::File,
        "class Data { int size; /* is a foo ** */ String get(int s1000) { Data foo = new Data(); foo.size = 123; return \"foo\" + s1000; }\n    int xyz() { int x = 5; interfacesL: for (;;) { x++; break interfacesL; } return x; } }\n",
    );
    check_every_token(
        StartMode::MethodBody(BodyKind::Infer),
        "int tu = 1; long le = 123L; float ff = 1.5f; // a b\n    foo(tu, le); int $y = tu; return $y;",
    );
}

fn oracle_allows(state: &JavaConstraint, bytes: &[u8]) -> bool {
    let mut probe = state.fork();
    let singles: Vec<u32> = bytes.iter().map(|&b| u32::from(b)).collect();
    probe.feed(&singles).is_ok()
}

/// Every token is allowed by `mask` exactly when the oracle, run on
/// `oracle_state`, allows it (EOS: exactly when the text is complete).
#[track_caller]
fn assert_mask_is_the_oracle(
    mask: &SimpleVob,
    oracle_state: &JavaConstraint,
    tokens: &[Vec<u8>],
    eos: u32,
    context: &str,
) {
    for (id, bytes) in tokens.iter().enumerate() {
        let expected =
            if id as u32 == eos { oracle_state.fork().is_complete() } else { oracle_allows(oracle_state, bytes) };
        assert_eq!(
            mask.is_allowed(id as u32),
            expected,
            "token {:?} after {:?} ({context})",
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(oracle_state.text())
        );
    }
}

fn check_every_prefix(mode: StartMode, program: &str) {
    let (vocab, tokens, eos) = vocab();
    let mut state = JavaConstraint::new(vocab, mode).unwrap();
    for (pos, byte) in program.bytes().enumerate() {
        let mask = state.mask().unwrap();
        assert_mask_is_the_oracle(&mask, &state, &tokens, eos, &format!("{mode} mode, byte {pos}"));
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
    check_every_prefix(
        StartMode::MethodBody(BodyKind::Infer),
        "int y = switch (x) { case 1 -> { yield 2; } default -> 0; }; return y;",
    );
    check_every_prefix(StartMode::MethodBody(BodyKind::Void), "if (x) return; char c = 'é';");
    check_every_prefix(
        StartMode::MethodBody(BodyKind::Void),
        "int size = s1000 + 0xff; /* foo ** */ interfaces1 = \"foo\";",
    );
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

/// Where whitespace changes nothing (in code after `; , ( ) [ ] { }` or
/// after whitespace), a whitespace token keeps the mask computed before
/// it. At every token, the mask of a state that computed masks all along
/// must equal that of a state fed the same tokens without ever asking for
/// one, so nothing was kept where whitespace does matter: after a word or
/// an operator, inside a comment or a string.
#[test]
fn masks_after_whitespace_equal_masks_computed_afresh() {
    let (vocab, tokens, eos) = vocab();
    let programs = [
        (
            StartMode::MethodBody(BodyKind::Void),
            "int x = 1;\n    \n    foo( a ,  b );\n    int  y ;  // c;\n    \n    x++; { }\n    return ;\n    ",
        ),
        (
            StartMode::File,
            "class A {\n    int f() { return x  +  y; }\n    /* a; \n    */ String s = \"a;  b\";\n    }\n    ",
        ),
    ];
    for (mode, program) in programs {
        let ids = tokenize_greedily(&tokens, eos, program);
        assert!(
            ids.iter().any(|&t| tokens[t as usize] == b"\n    "),
            "the program should use a multi-byte whitespace token"
        );
        let mut stepwise = JavaConstraint::new(vocab.clone(), mode).unwrap();
        for (i, &t) in ids.iter().enumerate() {
            let mask = stepwise.mask().unwrap();
            let mut fresh = JavaConstraint::new(vocab.clone(), mode).unwrap();
            fresh.feed(&ids[..i]).unwrap();
            let expected = fresh.mask().unwrap();
            let differing: Vec<String> = (0..tokens.len() as u32)
                .filter(|&id| mask.is_allowed(id) != expected.is_allowed(id))
                .map(|id| format!("{:?}", String::from_utf8_lossy(&tokens[id as usize])))
                .collect();
            assert!(
                differing.is_empty(),
                "after {:?}: masks differ on {differing:?}",
                String::from_utf8_lossy(stepwise.text())
            );
            stepwise.accept(t).unwrap();
        }
    }
}
