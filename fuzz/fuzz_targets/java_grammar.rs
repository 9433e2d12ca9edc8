//! The Java grammar stages (`java_grammar`, `java_scope`) with random
//! prompts (byte strings and raw token ids, some outside the vocabulary) and
//! random forced tokens, interleaved with masking and rollbacks. The stage
//! may refuse a token or a prompt with an error; it must not panic.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use logitloom_java_grammar::library;
use logitloom_plugin_api::{ParamValue, Setup, Step, TokenBytes};

const EOS: u32 = 256;
/// Byte tokens, EOS, a few multi-byte Java tokens, and one row without a
/// token (an embedding row past the tokenizer's vocabulary).
const WORDS: [&[u8]; 6] = [b"class", b" {", b"return", b"();", b"\xe2\x82", b"\xac"];
const VOCAB: usize = 256 + 1 + WORDS.len() + 1;

fn tokens() -> Vec<Vec<u8>> {
    (0..=255u8)
        .map(|b| vec![b])
        .chain([b"<|endoftext|>".to_vec()])
        .chain(WORDS.iter().map(|w| w.to_vec()))
        .chain([Vec::new()])
        .collect()
}

#[derive(Arbitrary, Debug)]
enum Action {
    Process,
    Accept(u16),
    AcceptChosen,
    Rollback(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    scope: bool,
    start: u8,
    method_return: u8,
    prompt_bytes: Vec<u8>,
    prompt_ids: Vec<u16>,
    raw_ids: bool,
    actions: Vec<Action>,
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary(&mut Unstructured::new(data)) else { return };
    let (bytes, offsets) = TokenBytes::flatten(&tokens());
    let setup = Setup { vocab_size: VOCAB, eos_token_id: EOS, seed: 1, token_bytes: Some(TokenBytes { data: &bytes, offsets: &offsets }) };
    let starts = logitloom_java_grammar::StartMode::NAMES;
    let bodies = logitloom_java_grammar::BodyKind::NAMES;
    let mut params = BTreeMap::new();
    params.insert("start".to_string(), ParamValue::String(starts[input.start as usize % starts.len()].into()));
    params.insert("method_return".to_string(), ParamValue::String(bodies[input.method_return as usize % bodies.len()].into()));
    let entry = &library()[usize::from(input.scope)];
    let Ok(mut processor) = (entry.create)(&params, &setup) else { return };
    let mut seq: Vec<u32> = if input.raw_ids {
        input.prompt_ids.iter().take(256).map(|&t| u32::from(t) % (VOCAB as u32 + 2)).collect()
    } else {
        input.prompt_bytes.iter().take(512).map(|&b| u32::from(b)).collect()
    };
    let prompt_len = seq.len();
    let mut logits = vec![0.0f32; VOCAB];
    for action in input.actions.into_iter().take(48) {
        let step_no = seq.len() - prompt_len;
        match action {
            Action::Process => {
                logits.iter_mut().enumerate().for_each(|(i, l)| *l = (i % 7) as f32);
                let mut step = Step::new(&seq, prompt_len, step_no, VOCAB, EOS, None);
                if processor.process(&mut step, &mut logits).is_err() {
                    return;
                }
            }
            Action::Accept(t) => {
                let token = u32::from(t) % (VOCAB as u32 + 2);
                let mut step = Step::new(&seq, prompt_len, step_no, VOCAB, EOS, None);
                if processor.accept(&mut step, token).is_err() {
                    return;
                }
                seq.push(token);
            }
            Action::AcceptChosen => {
                // The best token the last mask allowed, as a sampler would.
                let Some(token) = logits.iter().enumerate().filter(|(_, l)| l.is_finite()).map(|(i, _)| i as u32).next() else { return };
                let mut step = Step::new(&seq, prompt_len, step_no, VOCAB, EOS, None);
                if processor.accept(&mut step, token).is_err() {
                    return;
                }
                seq.push(token);
            }
            Action::Rollback(len) => {
                let len = prompt_len + usize::from(len) % (seq.len() - prompt_len + 1);
                // `Replay` hands the rollback to the host (re-create and
                // replay), which this target does not model.
                match processor.rollback(len) {
                    Ok(logitloom_plugin_api::Rollback::Done) => seq.truncate(len),
                    _ => return,
                }
            }
        }
    }
});
