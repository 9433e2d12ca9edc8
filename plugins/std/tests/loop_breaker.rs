//! `loop_breaker`: when it fires and where it goes back to.

mod common;

use common::*;
use logitloom_plugin_api::{LogitProcessor, RewindRequest, Step};
use logitloom_std_plugins::LoopBreaker;

const PROMPT: [u32; 2] = [1, 2];

/// Feeds `sequence` one token per step as a sampler would have chosen it,
/// each from a row where it leads the runner-up by `margin(i)`. Returns the
/// first rewind the stage asks for, with the step it asked at.
fn drive(
    breaker: &mut LoopBreaker,
    vocab: usize,
    sequence: &[u32],
    margin: impl Fn(usize) -> f32,
) -> Option<(usize, RewindRequest)> {
    let mut tokens = PROMPT.to_vec();
    for (i, &token) in sequence.iter().enumerate() {
        let mut row = vec![0.0; vocab];
        row[token as usize] = margin(i);
        let mut step = Step::new(&tokens, PROMPT.len(), i, vocab, 0, None);
        breaker.process(&mut step, &mut row).unwrap();
        if let Some(request) = step.take_rewind() {
            return Some((i, request));
        }
        breaker.accept(&mut step, token).unwrap();
        tokens.push(token);
    }
    None
}

fn breaker(texts: &[&str]) -> LoopBreaker {
    create::<LoopBreaker>(&[], texts, 0).unwrap()
}

#[test]
fn a_line_loop_goes_back_to_the_least_decided_line_start_not_to_the_varying_token() {
    // `x = a;` lines: token 3 is the line break, 4..8 the line.
    let texts = ["<eos>", "p", "q", "\n    ", " x", " =", " a", ";", " y"];
    let line = [3, 4, 5, 6, 7];
    let sequence: Vec<u32> = line.iter().cycle().take(40).copied().collect();
    // The value (" a") is the least decided token, the name (" x") the
    // least decided line start.
    let margin = |i: usize| match sequence[i] {
        6 => 0.1,
        4 => 0.5 + i as f32 * 0.01,
        _ => 3.0,
    };
    let (at, request) = drive(&mut breaker(&texts), texts.len(), &sequence, margin).expect("the loop is caught");
    // A 5-token unit needs 3 copies to span 12 tokens: caught at 15.
    assert_eq!(at, 15);
    // The second copy starts at generated position 5; its " x" is at 6.
    assert_eq!(request, RewindRequest { to_len: PROMPT.len() + 6, ban: vec![4] });
}

#[test]
fn a_loop_within_a_line_goes_back_to_its_least_decided_word_not_to_punctuation() {
    // `.S.S.S` with no line break in the unit. The "." is the least decided
    // token, but banning punctuation breaks syntax: the "S" it is.
    let texts = ["<eos>", "p", "q", ".", "S"];
    let sequence: Vec<u32> = [3, 4].iter().cycle().take(40).copied().collect();
    let margin = |i: usize| if sequence[i] == 4 { 1.0 - i as f32 * 0.01 } else { 0.1 };
    let (at, request) = drive(&mut breaker(&texts), texts.len(), &sequence, margin).expect("the loop is caught");
    assert_eq!(at, 12, "6 copies of a 2-token unit span 12 tokens");
    // The second copy starts at 2; its least decided "S" is the last, at 11.
    assert_eq!(request, RewindRequest { to_len: PROMPT.len() + 11, ban: vec![4] });
}

#[test]
fn a_long_unit_that_restarts_the_generation_is_caught_before_its_second_copy_ends() {
    // A 30-token unit from the first generated token, then its second copy.
    let vocab = 40;
    let texts: Vec<String> = (0..vocab).map(|i| format!("t{i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let unit: Vec<u32> = (5..35).collect();
    let sequence: Vec<u32> = unit.iter().chain(&unit).copied().collect();
    let (at, request) = drive(&mut breaker(&refs), vocab, &sequence, |_| 1.0).expect("the restart is caught");
    // min_match (16) tokens of the second copy repeat the first.
    assert_eq!(at, 30 + 16);
    assert_eq!(request, RewindRequest { to_len: PROMPT.len() + 30, ban: vec![5] });
}

#[test]
fn two_similar_lines_are_not_a_loop() {
    let texts = ["<eos>", "p", "q", "\n    ", " x", " =", " a", ";", " y"];
    let sequence = [3, 4, 5, 6, 7, 3, 8, 5, 6, 7, 3, 4, 5, 8, 7, 3];
    assert_eq!(drive(&mut breaker(&texts), texts.len(), &sequence, |_| 1.0), None);
}

#[test]
fn rollback_forgets_the_records_of_the_positions_taken_back() {
    // After a rollback into the loop, the records of the dropped positions
    // must not steer the next rewind: a fresh breaker fed only the kept
    // steps asks for the same rewind as the rolled-back one.
    let texts = ["<eos>", "p", "q", ".", "S", "T"];
    let sequence: Vec<u32> = [3, 4].iter().cycle().take(40).copied().collect();
    let mut rolled = breaker(&texts);
    // Decided margins at first, then (in the part taken back) a very
    // undecided "S" that would win if it were remembered.
    let first = |i: usize| if i >= 6 && sequence[i] == 4 { -5.0 } else { 1.0 + i as f32 * 0.01 };
    drive(&mut rolled, texts.len(), &sequence[..10], first);
    rolled.rollback(PROMPT.len() + 6).unwrap();
    let later = |i: usize| 1.0 + i as f32 * 0.01;
    let tail: Vec<u32> = sequence[..20].to_vec();
    // Drive the kept prefix's continuation through the rolled-back stage:
    // positions 6.. again, with the later margins.
    let mut tokens = PROMPT.to_vec();
    tokens.extend(&tail[..6]);
    let mut asked = None;
    for (i, &token) in tail.iter().enumerate().skip(6) {
        let mut row = vec![0.0; texts.len()];
        row[token as usize] = later(i);
        let mut step = Step::new(&tokens, PROMPT.len(), i, texts.len(), 0, None);
        rolled.process(&mut step, &mut row).unwrap();
        if let Some(request) = step.take_rewind() {
            asked = Some((i, request));
            break;
        }
        rolled.accept(&mut step, token).unwrap();
        tokens.push(token);
    }
    let fresh = drive(&mut breaker(&texts), texts.len(), &tail, |i| if i < 6 { first(i) } else { later(i) });
    assert!(fresh.is_some());
    assert_eq!(asked, fresh);
}
