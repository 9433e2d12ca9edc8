//! The plugin-API face: parameters, prompt parsing, masking, accepting.

use std::collections::BTreeMap;

use logitloom_java_grammar::library;
use logitloom_plugin_api::{ParamValue, Setup, Step, TokenBytes};

/// Token `b` is byte `b`; 256 is EOS; 257 is an embedding row without a token.
const EOS: u32 = 256;
const VOCAB: usize = 258;

fn byte_tokens() -> Vec<Vec<u8>> {
    (0..=255u8).map(|b| vec![b]).chain([b"<|endoftext|>".to_vec()]).collect()
}

fn create(start: &str, with_bytes: bool) -> Result<Box<dyn logitloom_plugin_api::LogitProcessor>, String> {
    let (data, offsets) = TokenBytes::flatten(&byte_tokens());
    let setup = Setup {
        vocab_size: VOCAB,
        eos_token_id: EOS,
        seed: 1,
        token_bytes: with_bytes.then_some(TokenBytes { data: &data, offsets: &offsets }),
    };
    let mut params = BTreeMap::new();
    params.insert("start".to_string(), ParamValue::String(start.into()));
    (library()[0].create)(&params, &setup).map_err(|e| e.message)
}

fn masked(processor: &mut dyn logitloom_plugin_api::LogitProcessor, tokens: &[u32], prompt_len: usize) -> Vec<f32> {
    let mut logits = vec![1.0f32; VOCAB];
    let mut step = Step::new(tokens, prompt_len, tokens.len() - prompt_len, VOCAB, EOS, None);
    processor.process(&mut step, &mut logits).unwrap();
    logits
}

#[test]
fn masks_the_reported_return_after_a_prompt() {
    let mut p = create("class-body", true).unwrap();
    let prompt: Vec<u32> = b"boolean search(int key) { return".iter().map(|&b| u32::from(b)).collect();
    let logits = masked(p.as_mut(), &prompt, prompt.len());
    assert_eq!(logits[b';' as usize], f32::NEG_INFINITY, "`return;` in a boolean method");
    assert_eq!(logits[b' ' as usize], 1.0, "untouched where allowed");
    assert_eq!(logits[EOS as usize], f32::NEG_INFINITY, "the text is not complete");
    assert_eq!(logits[257], f32::NEG_INFINITY, "a row without a token is never allowed");
    let mut step = Step::new(&prompt, prompt.len(), 0, VOCAB, EOS, None);
    p.accept(&mut step, u32::from(b' ')).unwrap();
    let mut step = Step::new(&prompt, prompt.len(), 1, VOCAB, EOS, None);
    let err = p.accept(&mut step, u32::from(b'}')).unwrap_err();
    assert!(err.message.starts_with("generated token rejected: not valid Java"), "{}", err.message);
}

#[test]
fn eos_only_where_complete() {
    let mut p = create("method-body", true).unwrap();
    let prompt: Vec<u32> = b"int x = 1;".iter().map(|&b| u32::from(b)).collect();
    // Allowed, and (end_on_close) also given the closing brace's probability: ln(e + e).
    let eos = masked(p.as_mut(), &prompt, prompt.len())[EOS as usize];
    assert!((eos - (1.0 + 2f32.ln())).abs() < 1e-6, "{eos}");
    let prompt: Vec<u32> = b"int x = 1".iter().map(|&b| u32::from(b)).collect();
    let mut p = create("method-body", true).unwrap();
    assert_eq!(masked(p.as_mut(), &prompt, prompt.len())[EOS as usize], f32::NEG_INFINITY, "no `;` yet");
}

#[test]
fn an_invalid_prompt_names_where_it_fails() {
    let mut p = create("file", true).unwrap();
    let prompt: Vec<u32> = b"class A {\n  int x = ;".iter().map(|&b| u32::from(b)).collect();
    let mut logits = vec![0.0f32; VOCAB];
    let mut step = Step::new(&prompt, prompt.len(), 0, VOCAB, EOS, None);
    let err = p.process(&mut step, &mut logits).unwrap_err();
    assert_eq!(
        err.message,
        "prompt: not valid Java (file mode) at line 2, column 11: \";\" cannot follow \"class A {\\n  int x = \""
    );
}

#[test]
fn refuses_to_run_without_token_bytes_or_with_an_unknown_mode() {
    let refusal = |start, with_bytes| create(start, with_bytes).err().expect("creation must fail");
    assert!(refusal("file", false).contains("needs the token byte strings"));
    assert!(refusal("expression", true).contains("`start`"));
}

#[test]
fn a_complete_body_gives_eos_the_probability_of_its_closing_brace() {
    let mut p = create("method-body", true).unwrap();
    let prompt: Vec<u32> = b"int x = 1;".iter().map(|&b| u32::from(b)).collect();
    let mut logits = vec![0.0f32; VOCAB];
    logits[b'}' as usize] = 3.0;
    logits[EOS as usize] = 1.0;
    let mut step = Step::new(&prompt, prompt.len(), 0, VOCAB, EOS, None);
    p.process(&mut step, &mut logits).unwrap();
    assert_eq!(logits[b'}' as usize], f32::NEG_INFINITY, "the body's own closing brace stays masked");
    let expected = (3.0f32.exp() + 1.0f32.exp()).ln();
    assert!((logits[EOS as usize] - expected).abs() < 1e-5, "EOS {} vs {expected}", logits[EOS as usize]);

    // Inside an open block `}` closes that block: it keeps its own logit and EOS gets nothing.
    let mut p = create("method-body", true).unwrap();
    let prompt: Vec<u32> = b"if (true) { int x = 1;".iter().map(|&b| u32::from(b)).collect();
    let mut logits = vec![0.0f32; VOCAB];
    logits[b'}' as usize] = 3.0;
    let mut step = Step::new(&prompt, prompt.len(), 0, VOCAB, EOS, None);
    p.process(&mut step, &mut logits).unwrap();
    assert_eq!(logits[b'}' as usize], 3.0);
    assert_eq!(logits[EOS as usize], f32::NEG_INFINITY);
}

#[test]
fn end_on_close_can_be_switched_off() {
    let (data, offsets) = TokenBytes::flatten(&byte_tokens());
    let setup = Setup {
        vocab_size: VOCAB,
        eos_token_id: EOS,
        seed: 1,
        token_bytes: Some(TokenBytes { data: &data, offsets: &offsets }),
    };
    let mut params = BTreeMap::new();
    params.insert("start".to_string(), ParamValue::String("class-body".into()));
    params.insert("end_on_close".to_string(), ParamValue::Bool(false));
    let mut p = (library()[0].create)(&params, &setup).map_err(|e| e.message).unwrap();
    let prompt: Vec<u32> = b"int x;".iter().map(|&b| u32::from(b)).collect();
    let mut logits = vec![0.0f32; VOCAB];
    logits[b'}' as usize] = 3.0;
    let mut step = Step::new(&prompt, prompt.len(), 0, VOCAB, EOS, None);
    p.process(&mut step, &mut logits).unwrap();
    assert_eq!(logits[EOS as usize], 0.0, "EOS keeps its own logit");
}

/// `java_scope` is exported next to `java_grammar`, takes the same
/// parameters and removes what the symbol table proves wrong from the
/// grammar's mask: here `.` after an `int` local.
#[test]
fn java_scope_masks_a_dot_after_an_int() {
    let entries = library();
    let scope = entries.iter().find(|e| (e.info)().name == "java_scope").expect("java_scope is exported");
    let (data, offsets) = TokenBytes::flatten(&byte_tokens());
    let setup = Setup {
        vocab_size: VOCAB,
        eos_token_id: EOS,
        seed: 1,
        token_bytes: Some(TokenBytes { data: &data, offsets: &offsets }),
    };
    let mut params = BTreeMap::new();
    params.insert("start".to_string(), ParamValue::String("method-body".into()));
    let mut p = (scope.create)(&params, &setup).map_err(|e| e.message).unwrap();
    let prompt: Vec<u32> = b"int n = 1; String s = \"a\"; f(n".iter().map(|&b| u32::from(b)).collect();
    let logits = masked(p.as_mut(), &prompt, prompt.len());
    assert_eq!(logits[b'.' as usize], f32::NEG_INFINITY, "`.` after an int");
    assert_eq!(logits[b')' as usize], 1.0);
    let mut grammar = create("method-body", true).unwrap();
    assert_eq!(masked(grammar.as_mut(), &prompt, prompt.len())[b'.' as usize], 1.0, "the grammar alone allows it");
}
