//! greedy, multinomial and entropy_logger.

mod common;

use common::*;
use logitloom_plugin_api::{LogitProcessor, Step};
use logitloom_std_plugins::{EntropyLogger, Greedy, Multinomial};

fn sample<P: LogitProcessor>(p: &mut P, logits: &[f32]) -> Result<u32, String> {
    let mut step = Step::new(&[], 0, 0, logits.len(), 0, None);
    p.sample(&mut step, logits).map_err(|e| e.to_string())
}

#[test]
fn greedy_takes_the_lowest_id_of_tied_maxima() {
    let mut g = create::<Greedy>(&[], &["a"; 4], 0).unwrap();
    assert_eq!(sample(&mut g, &[1.0, 3.0, 3.0, 2.0]), Ok(1));
    assert_eq!(sample(&mut g, &[NEG, NEG, 0.5, NEG]), Ok(2));
    assert!(sample(&mut g, &[NEG; 4]).unwrap_err().contains("every token was removed"));
    assert!(sample(&mut g, &[1.0, f32::NAN, 0.0, 0.0]).unwrap_err().contains("token 1"));
}

fn draws(seed_param: i64, run_seed: u64, logits: &[f32], n: usize) -> Vec<u32> {
    let mut m = create::<Multinomial>(&[("seed", int(seed_param))], &["a"; 4], run_seed).unwrap();
    (0..n).map(|_| sample(&mut m, logits).unwrap()).collect()
}

#[test]
fn multinomial_is_reproducible_per_seed() {
    let row = logits_of(&[0.25, 0.25, 0.25, 0.25]);
    assert_eq!(draws(-1, 7, &row, 200), draws(-1, 7, &row, 200));
    assert_ne!(draws(-1, 7, &row, 200), draws(-1, 8, &row, 200));
    // A stage seed replaces the run's seed.
    assert_eq!(draws(7, 1234, &row, 200), draws(-1, 7, &row, 200));
}

#[test]
fn multinomial_follows_the_distribution() {
    // p = 0.5, 0.3, 0.2 and a removed token. 20 000 draws; Pearson's
    // chi-square with 2 degrees of freedom stays below 13.8 with probability
    // 0.999 for a correct sampler (the seed is fixed, so this cannot flake).
    let row = [0.5f32.ln(), 0.3f32.ln(), 0.2f32.ln(), NEG];
    let n = 20_000;
    let mut counts = [0usize; 4];
    for t in draws(-1, 42, &row, n) {
        counts[t as usize] += 1;
    }
    assert_eq!(counts[3], 0, "a removed token was drawn");
    let chi2: f64 = [0.5, 0.3, 0.2]
        .iter()
        .zip(counts)
        .map(|(p, c)| {
            let e = p * n as f64;
            (c as f64 - e).powi(2) / e
        })
        .sum();
    assert!(chi2 < 13.8, "counts {counts:?}, chi2 {chi2}");
}

#[test]
fn multinomial_refuses_impossible_rows() {
    let mut m = create::<Multinomial>(&[], &["a"; 2], 0).unwrap();
    assert!(sample(&mut m, &[NEG, NEG]).unwrap_err().contains("every token was removed"));
    assert!(sample(&mut m, &[f32::NAN, 0.0]).unwrap_err().contains("NaN"));
    // A NaN among removed tokens, in a block the scan would otherwise skip.
    let mut row = vec![NEG; 40];
    row[0] = 1.0;
    row[20] = f32::NAN;
    assert!(sample(&mut m, &row).unwrap_err().contains("token 20"));
    row[20] = f32::INFINITY;
    assert!(sample(&mut m, &row).unwrap_err().contains("token 20 is inf"));
}

#[test]
fn entropy_logger_records_before_and_after_the_chain() {
    let mut logger = create::<EntropyLogger>(&[("top_n", int(2))], &["a", "b", "c"], 0).unwrap();
    let raw = [0.0f32, 0.0, 0.0];
    // An earlier stage removed token 2.
    let mut row = [0.0f32, 0.0, NEG];
    let tokens = [2u32, 0, 1];
    let mut step = Step::new(&tokens, 2, 1, 3, 0, Some(&raw));
    logger.process(&mut step, &mut row).unwrap();
    assert_eq!(row, [0.0, 0.0, NEG], "the logger must not edit logits");
    logger.accept(&mut step, 1).unwrap();
    let records = step.take_observations();
    assert_eq!(records.len(), 1);
    let r: serde_json::Value = serde_json::from_str(&records[0]).unwrap();
    let f = |k: &str| r[k].as_f64().unwrap();
    // Raw: uniform over 3, H = ln 3, chosen token prob 1/3. After: uniform over 2, H = ln 2, prob 1/2.
    assert!((f("entropy_before") - 3f64.ln()).abs() < 1e-6);
    assert!((f("entropy_after") - 2f64.ln()).abs() < 1e-6);
    assert!((f("logprob") - 0.5f64.ln()).abs() < 1e-6);
    assert!((f("raw_logprob") - (1.0f64 / 3.0).ln()).abs() < 1e-6);
    assert_eq!(r["pos"], 3);
    assert_eq!(r["step"], 1);
    assert_eq!(r["token"], 1);
    assert_eq!(r["text"], "b");
    let top = r["top"].as_array().unwrap();
    assert_eq!(top.len(), 2);
    assert_eq!((top[0]["token"].as_u64(), top[0]["text"].as_str()), (Some(0), Some("a")));
    assert_eq!(top[1]["token"], 1);
    assert!((top[0]["prob"].as_f64().unwrap() - 0.5).abs() < 1e-6);
}

#[test]
fn entropy_logger_writes_null_for_a_token_the_chain_removed() {
    let mut logger = create::<EntropyLogger>(&[], &["a", "b"], 0).unwrap();
    let raw = [1.0f32, 0.0];
    let mut row = [1.0f32, NEG];
    let mut step = Step::new(&[], 0, 0, 2, 0, Some(&raw));
    logger.process(&mut step, &mut row).unwrap();
    logger.accept(&mut step, 1).unwrap();
    let r: serde_json::Value = serde_json::from_str(&step.take_observations()[0]).unwrap();
    assert!(r["logprob"].is_null());
    assert_eq!(r["entropy_after"], 0.0);
    assert!(r["raw_logprob"].as_f64().unwrap() < 0.0);
}

#[test]
fn library_lists_every_standard_processor() {
    let names: Vec<String> = logitloom_std_plugins::library().iter().map(|e| (e.info)().name).collect();
    assert_eq!(
        names,
        [
            "temperature",
            "top_k",
            "top_p",
            "min_p",
            "repetition_penalty",
            "frequency_presence_penalty",
            "no_repeat_ngram",
            "dry",
            "entropy_logger",
            "loop_breaker",
            "entropy_backtrack",
            "greedy",
            "multinomial"
        ]
    );
}
