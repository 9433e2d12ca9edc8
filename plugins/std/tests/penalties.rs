//! repetition_penalty, frequency_presence_penalty, no_repeat_ngram and dry.

mod common;

use common::*;
use logitloom_plugin_api::ParamValue;
use logitloom_std_plugins::{Dry, FrequencyPresencePenalty, NoRepeatNgram, RepetitionPenalty};

#[test]
fn repetition_penalty_multiplies_negative_logits_and_divides_positive_ones() {
    let row = [2.0, -1.0, 0.5, 3.0];
    // Seen: 0 (2.0 / 2 = 1.0) and 1 twice (-1.0 * 2 = -2.0, once, not -4.0).
    // Dividing the negative one would give -0.5 and make it *more* likely.
    let got = apply::<RepetitionPenalty>(&[("penalty", float(2.0))], &[0, 1, 1], 3, &row);
    assert_eq!(got, vec![1.0, -2.0, 0.5, 3.0]);
}

#[test]
fn repetition_penalty_window_and_prompt() {
    let row = [2.0, -1.0, 0.5, 3.0];
    // Prompt [0, 1], generated [3]: without the prompt only token 3 counts (3 / 2 = 1.5).
    let no_prompt = apply::<RepetitionPenalty>(
        &[("penalty", float(2.0)), ("include_prompt", ParamValue::Bool(false))],
        &[0, 1, 3],
        2,
        &row,
    );
    assert_eq!(no_prompt, vec![2.0, -1.0, 0.5, 1.5]);
    // Window 2 over [0, 1, 3]: tokens 1 and 3.
    let windowed = apply::<RepetitionPenalty>(&[("penalty", float(2.0)), ("window", int(2))], &[0, 1, 3], 2, &row);
    assert_eq!(windowed, vec![2.0, -2.0, 0.5, 1.5]);
}

#[test]
fn frequency_and_presence_count_occurrences() {
    let row = [1.0; 4];
    let pen = |extra: &[(&str, ParamValue)], tokens: &[u32], prompt: usize| {
        let mut given = vec![("frequency", float(0.5)), ("presence", float(0.25))];
        given.extend_from_slice(extra);
        apply::<FrequencyPresencePenalty>(&given, tokens, prompt, &row)
    };
    // Token 2 three times: 1 - 3*0.5 - 0.25 = -0.75; token 0 once: 1 - 0.5 - 0.25 = 0.25.
    assert_eq!(pen(&[], &[2, 2, 0, 2], 1), vec![0.25, 1.0, -0.75, 1.0]);
    // Window 2 over [2, 2, 0, 2]: [0, 2], once each.
    assert_eq!(pen(&[("window", int(2))], &[2, 2, 0, 2], 1), vec![0.25, 1.0, 0.25, 1.0]);
    // Generated part only ([0, 2] after a prompt of [2, 2]).
    assert_eq!(pen(&[("include_prompt", ParamValue::Bool(false))], &[2, 2, 0, 2], 2), vec![0.25, 1.0, 0.25, 1.0]);
    // Running it again gives the same: the count table was reset.
    let texts = plain_texts(4);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut p = create::<FrequencyPresencePenalty>(&[("frequency", float(1.0))], &refs, 0).unwrap();
    assert_eq!(process(&mut p, &[3, 3], 0, &row), vec![1.0, 1.0, 1.0, -1.0]);
    assert_eq!(process(&mut p, &[3, 3], 0, &row), vec![1.0, 1.0, 1.0, -1.0]);
}

#[test]
fn no_repeat_ngram_bans_completions_of_earlier_ngrams() {
    let row = [0.0; 8];
    let ban = |n: i64, tokens: &[u32]| {
        let out = apply::<NoRepeatNgram>(&[("n", int(n))], tokens, 1, &row);
        (0..8).filter(|&i| out[i] == NEG).collect::<Vec<_>>()
    };
    // Bigrams of 5 6 5 7 5 starting with the last token 5: (5,6) and (5,7).
    assert_eq!(ban(2, &[5, 6, 5, 7, 5]), vec![6, 7]);
    // Trigram (1,2,3) would repeat after ... 1 2.
    assert_eq!(ban(3, &[1, 2, 3, 1, 2]), vec![3]);
    // n = 1: every token present.
    assert_eq!(ban(1, &[1, 4]), vec![1, 4]);
    // Too short to hold a complete trigram.
    assert_eq!(ban(3, &[1, 1]), Vec::<usize>::new());
}

/// Vocabulary for the DRY cases: a b c d, a newline, and "x:" (contains ':').
const DRY_TEXTS: [&str; 6] = ["a", "b", "c", "d", "\n", "x:"];

fn dry(extra: &[(&str, ParamValue)], tokens: &[u32]) -> Vec<f32> {
    let mut p = create::<Dry>(extra, &DRY_TEXTS, 0).unwrap();
    process(&mut p, tokens, 0, &[0.0; 6])
}

#[test]
fn dry_penalises_the_token_that_extends_a_repeat() {
    // a b c d a b c: the suffix "a b c" (3 tokens) also ends at position 2,
    // followed by d. Penalty 0.8 * 1.75^(3 - 2) = 1.4 on d only.
    let got = dry(&[], &[0, 1, 2, 3, 0, 1, 2]);
    assert!((got[3] + 1.4).abs() < 1e-6, "{got:?}");
    assert_eq!([got[0], got[1], got[2], got[4], got[5]], [0.0; 5]);
    // allowed_length 3: the 3-token repeat is at the limit, exponent 0, penalty 0.8.
    let got = dry(&[("allowed_length", int(3))], &[0, 1, 2, 3, 0, 1, 2]);
    assert!((got[3] + 0.8).abs() < 1e-6);
    // allowed_length 4: the repeat is too short to count.
    let got = dry(&[("allowed_length", int(4))], &[0, 1, 2, 3, 0, 1, 2]);
    assert_eq!(got, vec![0.0; 6]);
}

#[test]
fn dry_repeat_stops_at_a_sequence_breaker() {
    // "x:" a b c  "x:" a b: the suffix "x: a b" repeats (3 tokens) and c follows.
    // "x:" contains ':' so the match may not reach back past it: capped at 2,
    // penalty 0.8 * 1.75^0 = 0.8 instead of 1.4.
    let got = dry(&[], &[5, 0, 1, 2, 5, 0, 1]);
    assert!((got[2] + 0.8).abs() < 1e-6, "{got:?}");
    // Without breakers the full length counts.
    let got = dry(&[("sequence_breakers", ParamValue::StringList(vec!["\n".into()]))], &[5, 0, 1, 2, 5, 0, 1]);
    assert!((got[2] + 1.4).abs() < 1e-6, "{got:?}");
}

#[test]
fn dry_never_penalises_a_breaker_token() {
    // a b x: a b: "a b" repeats and "x:" followed it, but breakers are exempt.
    assert_eq!(dry(&[], &[0, 1, 5, 0, 1]), vec![0.0; 6]);
    // Same shape with d instead of x: gets the penalty.
    let got = dry(&[], &[0, 1, 3, 0, 1]);
    assert!((got[3] + 0.8).abs() < 1e-6);
}

#[test]
fn dry_range_limits_the_search() {
    // With range 4 the context is "d a b c": no earlier "a b c".
    assert_eq!(dry(&[("range", int(4))], &[0, 1, 2, 3, 0, 1, 2]), vec![0.0; 6]);
}

#[test]
fn dry_z_algorithm_agrees_with_a_quadratic_scan() {
    // Pseudo-random contexts over a 4-letter alphabet (no breakers), checked
    // against the definition: for each earlier position i, the length of the
    // longest common suffix of ctx[..=i] and ctx; the token at i+1 gets the
    // largest such length >= allowed_length.
    let mut rng = logitloom_numerics::SplitMix64::new(12345);
    for trial in 0..200 {
        let len = 2 + trial % 40;
        let ctx: Vec<u32> = (0..len).map(|_| rng.below(4) as u32).collect();
        let got = dry(&[], &ctx);
        let mut want = [0usize; 6];
        for i in 0..ctx.len() - 1 {
            let mut l = 0;
            while l <= i && ctx[i - l] == ctx[ctx.len() - 1 - l] {
                l += 1;
            }
            if l >= 2 {
                let t = ctx[i + 1] as usize;
                want[t] = want[t].max(l);
            }
        }
        for t in 0..6 {
            let expect = if want[t] == 0 { 0.0 } else { -(0.8 * 1.75f64.powi(want[t] as i32 - 2)) as f32 };
            assert!(
                (got[t] - expect).abs() <= 1e-5 * expect.abs().max(1.0),
                "ctx {ctx:?} token {t}: got {}, want {expect}",
                got[t]
            );
        }
    }
}

#[test]
fn dry_refuses_an_empty_breaker() {
    let err =
        create::<Dry>(&[("sequence_breakers", ParamValue::StringList(vec!["".into()]))], &DRY_TEXTS, 0).err().unwrap();
    assert!(err.to_string().contains("sequence_breakers[0]"), "{err}");
}
