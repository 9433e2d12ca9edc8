//! Rewinds: the grammar stage rolled back to a length is in the state a
//! fresh stage reaches on the kept text (same masks from then on), and a
//! dead end asks to take the last token back.

use std::collections::BTreeMap;

use logitloom_java_grammar::library;
use logitloom_plugin_api::{LogitProcessor, ParamValue, Rollback, Setup, Step, TokenBytes};

/// Token `b` is byte `b`; 256 is EOS.
const EOS: u32 = 256;
const VOCAB: usize = 257;

fn create(start: &str, params: &[(&str, ParamValue)]) -> Box<dyn LogitProcessor> {
    create_named("java_grammar", start, params)
}

fn create_named(name: &str, start: &str, params: &[(&str, ParamValue)]) -> Box<dyn LogitProcessor> {
    let tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).chain([b"<|endoftext|>".to_vec()]).collect();
    let (data, offsets) = TokenBytes::flatten(&tokens);
    let setup = Setup {
        vocab_size: VOCAB,
        eos_token_id: EOS,
        seed: 1,
        token_bytes: Some(TokenBytes { data: &data, offsets: &offsets }),
    };
    let mut given = BTreeMap::new();
    given.insert("start".to_string(), ParamValue::String(start.into()));
    for (k, v) in params {
        given.insert(k.to_string(), v.clone());
    }
    let entry = library().into_iter().find(|e| (e.info)().name == name).expect("exported");
    (entry.create)(&given, &setup).unwrap()
}

fn bytes(s: &str) -> Vec<u32> {
    s.bytes().map(u32::from).collect()
}

/// The mask at the end of `tokens` (flat logits, so only the mask shows).
fn mask(p: &mut dyn LogitProcessor, tokens: &[u32], prompt_len: usize) -> Vec<bool> {
    let mut logits = vec![0.0f32; VOCAB];
    let mut step = Step::new(tokens, prompt_len, tokens.len() - prompt_len, VOCAB, EOS, None);
    p.process(&mut step, &mut logits).unwrap();
    logits.iter().map(|l| l.is_finite()).collect()
}

/// Feeds `text` after the prompt as generated tokens, asking for a mask at
/// each step as the host does.
fn generate(p: &mut dyn LogitProcessor, tokens: &mut Vec<u32>, prompt_len: usize, text: &str) {
    for t in bytes(text) {
        let allowed = mask(p, tokens, prompt_len);
        assert!(
            allowed[t as usize],
            "{:?} refused after {:?}",
            t as u8 as char,
            String::from_utf8_lossy(&tokens.iter().map(|&b| b as u8).collect::<Vec<_>>())
        );
        let mut step = Step::new(tokens, prompt_len, tokens.len() - prompt_len, VOCAB, EOS, None);
        p.accept(&mut step, t).unwrap();
        tokens.push(t);
    }
}

#[test]
fn rollback_gives_the_masks_of_a_fresh_parse_of_the_kept_text() {
    let prompt = "class A {\n    int f(int x) {\n        ";
    let written = "int y = x * 2; // twice\n        return y";
    let then = ";\n    }\n    /** doc */ String s = \"a\";\n}\n";
    for (name, keep) in
        ["java_grammar", "java_scope"].into_iter().flat_map(|n| [0, 1, 5, 14, 16, 24, 37].map(move |k| (n, k)))
    {
        assert!(keep <= written.len());
        let mut a = create_named(name, "file", &[]);
        let mut a_tokens = bytes(prompt);
        let prompt_len = a_tokens.len();
        generate(a.as_mut(), &mut a_tokens, prompt_len, written);
        assert_eq!(a.rollback(prompt_len + keep).unwrap(), Rollback::Done, "the grammar rolls back itself");
        a_tokens.truncate(prompt_len + keep);

        let mut b = create_named(name, "file", &[]);
        let mut b_tokens = bytes(prompt);
        generate(b.as_mut(), &mut b_tokens, prompt_len, &written[..keep]);
        assert_eq!(a_tokens, b_tokens);
        // From here both must allow exactly the same at every step.
        let rest = format!("{}{then}", &written[keep..]);
        for t in bytes(&rest) {
            let (ma, mb) = (mask(a.as_mut(), &a_tokens, prompt_len), mask(b.as_mut(), &b_tokens, prompt_len));
            assert_eq!(ma, mb, "{name}, keep {keep}: masks differ after {} tokens", a_tokens.len());
            for (p, tokens) in [(&mut a, &mut a_tokens), (&mut b, &mut b_tokens)] {
                let mut step = Step::new(tokens, prompt_len, tokens.len() - prompt_len, VOCAB, EOS, None);
                p.accept(&mut step, t).unwrap();
                tokens.push(t);
            }
        }
        assert!(mask(a.as_mut(), &a_tokens, prompt_len)[EOS as usize], "keep {keep}: the file is complete");
    }
}

#[test]
fn a_dead_end_asks_to_take_the_last_token_back() {
    let prompt = bytes("int x = 1; ");
    for (mass_on, asks) in [(b'"', true), (b'=', false)] {
        let mut p = create("method-body", &[("dead_end_mass", ParamValue::Float(0.05))]);
        let mut tokens = prompt.clone();
        generate(p.as_mut(), &mut tokens, prompt.len(), "x");
        // All the model's mass on one token: `"` cannot follow an identifier
        // here, `=` can.
        let mut logits = vec![-20.0f32; VOCAB];
        logits[mass_on as usize] = 10.0;
        let mut step = Step::new(&tokens, prompt.len(), 1, VOCAB, EOS, None);
        p.process(&mut step, &mut logits).unwrap();
        match step.take_rewind() {
            Some(request) => {
                assert!(asks, "{:?}: no dead end, yet a rewind", mass_on as char);
                assert_eq!((request.to_len, request.ban), (tokens.len() - 1, vec![u32::from(b'x')]));
            }
            None => assert!(!asks, "{:?}: a dead end, yet no rewind", mass_on as char),
        }
    }
}
