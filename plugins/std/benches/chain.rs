//! Cost per token of the standard processors at GPT-2's vocabulary size.
//!
//! The target: repetition penalty + top-k 40 + top-p 0.95 + multinomial in
//! at most 100 µs per token. Run with
//! `./dev.sh cargo bench -p logitloom-std-plugins --bench chain`.

use std::collections::BTreeMap;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use logitloom_numerics::Rng;
use logitloom_plugin_api::{LogitProcessor, ParamValue, Setup, Step, TokenBytes};
use logitloom_std_plugins::{library, Dry, EntropyLogger, MinP, Multinomial, RepetitionPenalty, TopK, TopP};

const VOCAB: usize = 50_257;
const HISTORY: usize = 512;

/// Logits shaped like a language model's: a broad Gaussian body (σ = 2.5)
/// and a handful of clear favourites.
fn model_like_logits() -> Vec<f32> {
    let mut rng = Rng::from_seed(1);
    let mut row: Vec<f32> = (0..VOCAB)
        .map(|_| {
            // Box-Muller.
            let (u, v) = (rng.next_f64().max(1e-12), rng.next_f64());
            (2.5 * libm::sqrt(-2.0 * libm::log(u)) * libm::cos(std::f64::consts::TAU * v)) as f32
        })
        .collect();
    for (i, boost) in [(198usize, 14.0f32), (1_000, 12.5), (25_000, 12.0), (40_000, 11.0)] {
        row[i] += boost;
    }
    row
}

fn history() -> Vec<u32> {
    let mut rng = Rng::from_seed(2);
    (0..HISTORY).map(|_| (rng.next_u64() % 2_000) as u32).collect()
}

fn texts() -> (Vec<u8>, Vec<u32>) {
    let tokens: Vec<Vec<u8>> =
        (0..VOCAB).map(|i| if i % 97 == 0 { b":\n".to_vec() } else { format!("t{i}").into_bytes() }).collect();
    TokenBytes::flatten(&tokens)
}

fn make<P: LogitProcessor>(given: &[(&str, ParamValue)], bytes: &(Vec<u8>, Vec<u32>)) -> P {
    let setup = Setup {
        vocab_size: VOCAB,
        eos_token_id: 0,
        seed: 3,
        token_bytes: Some(TokenBytes { data: &bytes.0, offsets: &bytes.1 }),
    };
    let given: BTreeMap<String, ParamValue> = given.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    logitloom_plugin_api::create_validated::<P>(&given, &setup).unwrap()
}

fn benches(c: &mut Criterion) {
    assert_eq!(library().len(), 13);
    let base = model_like_logits();
    let tokens = history();
    let bytes = texts();
    let mut row = base.clone();

    let mut rep = make::<RepetitionPenalty>(&[("penalty", ParamValue::Float(1.3))], &bytes);
    let mut top_k = make::<TopK>(&[("k", ParamValue::Int(40))], &bytes);
    let mut top_p = make::<TopP>(&[("p", ParamValue::Float(0.95))], &bytes);
    let mut sampler = make::<Multinomial>(&[], &bytes);
    c.bench_function("chain rep_penalty+top_k40+top_p0.95+multinomial (incl. 200 KB row copy)", |b| {
        b.iter(|| {
            row.copy_from_slice(&base);
            let mut step = Step::new(&tokens, 256, 256, VOCAB, 0, None);
            rep.process(&mut step, &mut row).unwrap();
            top_k.process(&mut step, &mut row).unwrap();
            top_p.process(&mut step, &mut row).unwrap();
            black_box(sampler.sample(&mut step, &row).unwrap())
        })
    });
    c.bench_function("row copy alone", |b| b.iter(|| row.copy_from_slice(black_box(&base))));

    let mut alone = |name: &str, p: &mut dyn LogitProcessor| {
        c.bench_function(name, |b| {
            b.iter(|| {
                row.copy_from_slice(&base);
                let mut step = Step::new(&tokens, 256, 256, VOCAB, 0, Some(&base));
                p.process(&mut step, &mut row).unwrap();
            })
        });
    };
    alone("top_k 40 on the full row", &mut make::<TopK>(&[("k", ParamValue::Int(40))], &bytes));
    alone("top_p 0.95 on the full row", &mut make::<TopP>(&[("p", ParamValue::Float(0.95))], &bytes));
    alone("min_p 0.05 on the full row", &mut make::<MinP>(&[("p", ParamValue::Float(0.05))], &bytes));
    alone("dry over 512 tokens", &mut make::<Dry>(&[], &bytes));
    alone("entropy_logger (two full-row entropies)", &mut make::<EntropyLogger>(&[], &bytes));
    let mut multinomial = make::<Multinomial>(&[], &bytes);
    c.bench_function("multinomial on the full row", |b| {
        b.iter(|| {
            let mut step = Step::new(&tokens, 256, 256, VOCAB, 0, None);
            black_box(multinomial.sample(&mut step, &base).unwrap())
        })
    });
}

criterion_group!(chain, benches);
criterion_main!(chain);
