//! The CPU decode step against libtorch and against an f32 full
//! recompute, in every stored width, on shapes that hit the kernels' tails.
//!
//! `cached_decoding.rs` holds both paths to 1e-4 of a recompute in f32;
//! here the narrow dtypes are checked: a bf16 or f16 model decoded natively
//! keeps activations in f32, so its logits must be at least as close to an
//! f32 recompute *with the same rounded weights* as libtorch's own decode.

use logitloom_engine::generate::{generate, Choice, ContextOverflow, GenerateOptions, SequenceSampler};
use logitloom_engine::{DecodePath, Gpt2, Gpt2Config};
use tch::{nn, Device, Kind, Tensor};

/// Feeds a fixed token script and records every logits row it is shown.
struct Scripted {
    row: Vec<f32>,
    seen: Vec<Vec<f32>>,
    script: Vec<u32>,
}

impl SequenceSampler for Scripted {
    fn row(&mut self) -> &mut [f32] {
        &mut self.row
    }
    fn choose(&mut self, _tokens: &[u32], _prompt_len: usize, _step: usize) -> Result<Choice, String> {
        self.seen.push(self.row.clone());
        Ok(Choice::Token(self.script[self.seen.len() - 1]))
    }
}

struct Case {
    config: Gpt2Config,
    prompts: Vec<Vec<u32>>,
    steps: usize,
}

/// `n_embd` 40 with 4 heads gives head_dim 10 and rows of 40 or 160: none
/// a multiple of the 32-wide vector loop, so every tail path runs.
fn odd_config() -> Gpt2Config {
    Gpt2Config {
        n_positions: 128,
        vocab_size: 53,
        n_embd: 40,
        n_head: 4,
        n_layer: 2,
        ..Gpt2Config::preset("tiny").unwrap()
    }
}

fn even_config() -> Gpt2Config {
    Gpt2Config {
        n_positions: 128,
        vocab_size: 97,
        n_embd: 64,
        n_head: 4,
        n_layer: 3,
        ..Gpt2Config::preset("tiny").unwrap()
    }
}

fn script_for(row: usize, steps: usize, vocab: usize) -> Vec<u32> {
    (0..steps).map(|i| ((i * 7 + row * 11 + 3) % vocab) as u32).collect()
}

/// Runs generation with the given path; returns the logits every sequence saw.
fn decode(gpt: &Gpt2, case: &Case) -> Vec<Vec<Vec<f32>>> {
    let vocab = case.config.vocab_size;
    let mut samplers: Vec<Box<dyn SequenceSampler>> = (0..case.prompts.len())
        .map(|b| {
            Box::new(Scripted { row: vec![0.0; vocab], seen: vec![], script: script_for(b, case.steps, vocab) })
                as Box<dyn SequenceSampler>
        })
        .collect();
    let recordings: Vec<*const Scripted> =
        samplers.iter().map(|s| &**s as *const dyn SequenceSampler as *const Scripted).collect();
    let options = GenerateOptions {
        max_new_tokens: case.steps,
        eos_token_id: u32::MAX,
        stop_at_eos: false,
        overflow: ContextOverflow::Stop,
    };
    let (outputs, _) = generate(gpt, &case.prompts, &mut samplers, &options, &mut |_, _| {}).unwrap();
    for (b, out) in outputs.iter().enumerate() {
        assert_eq!(out.tokens, script_for(b, case.steps, vocab));
    }
    // SAFETY: the samplers are still alive in `samplers`.
    recordings.iter().map(|&r| unsafe { (*r).seen.clone() }).collect()
}

/// Largest |a - b| over every step and sequence.
fn worst(a: &[Vec<Vec<f32>>], b: &[Vec<Vec<f32>>]) -> f32 {
    let mut worst = 0f32;
    for (sa, sb) in a.iter().zip(b) {
        assert_eq!(sa.len(), sb.len());
        for (ra, rb) in sa.iter().zip(sb) {
            for (x, y) in ra.iter().zip(rb) {
                worst = worst.max((x - y).abs());
            }
        }
    }
    worst
}

/// What an exact f32 model with the same weights would have shown each step.
fn recompute(gpt: &Gpt2, case: &Case) -> Vec<Vec<Vec<f32>>> {
    let vocab = case.config.vocab_size;
    case.prompts
        .iter()
        .enumerate()
        .map(|(b, prompt)| {
            let full: Vec<i64> = prompt.iter().chain(&script_for(b, case.steps, vocab)).map(|&t| t as i64).collect();
            let idx = Tensor::from_slice(&full).view([1, full.len() as i64]);
            let logits = tch::no_grad(|| gpt.forward_train(&idx, false)).squeeze_dim(0);
            (0..case.steps)
                .map(|step| {
                    let row = logits.get((prompt.len() + step - 1) as i64);
                    let mut out = vec![0f32; vocab];
                    row.copy_data(&mut out, vocab);
                    out
                })
                .collect()
        })
        .collect()
}

/// A seeded model in `kind`, plus an f32 model holding exactly its (rounded) weights.
fn models(config: &Gpt2Config, kind: Kind) -> (Gpt2, Gpt2) {
    // libtorch's generator is global and tests run in parallel threads:
    // without the lock another test's draws would change these weights.
    static SEEDED: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _seeded = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(3);
    let mut narrow_vs = nn::VarStore::new(Device::Cpu);
    let narrow = Gpt2::new(&narrow_vs.root(), config);
    narrow_vs.set_kind(kind);
    let mut exact_vs = nn::VarStore::new(Device::Cpu);
    let exact = Gpt2::new(&exact_vs.root(), config);
    exact_vs.copy(&narrow_vs).unwrap();
    // The models hold shallow clones of these variables; keep the stores alive.
    std::mem::forget(narrow_vs);
    std::mem::forget(exact_vs);
    (narrow, exact)
}

fn check_narrow(kind: Kind, config: Gpt2Config) {
    let case = Case { prompts: vec![vec![1, 2, 3], vec![4], vec![5, 6, 7, 8, 9, 10, 11]], steps: 40, config };
    let (mut narrow, exact) = models(&case.config, kind);
    let reference = recompute(&exact, &case);
    narrow.set_decode_path(DecodePath::Auto);
    let native = decode(&narrow, &case);
    narrow.set_decode_path(DecodePath::Libtorch);
    let libtorch = decode(&narrow, &case);
    let (native_error, libtorch_error) = (worst(&native, &reference), worst(&libtorch, &reference));
    eprintln!(
        "{kind:?}, n_embd {}: native {native_error:e}, libtorch {libtorch_error:e} from an f32 recompute",
        case.config.n_embd
    );
    assert!(
        native_error <= libtorch_error,
        "{kind:?}: CPU decode is further from f32 ({native_error}) than libtorch's ({libtorch_error})"
    );
    // The CPU decode step rounds only the cached keys/values (and the prefill,
    // which libtorch computes in the narrow type).
    assert!(native_error < 0.05, "{kind:?}: CPU decode is {native_error} from f32");
}

#[test]
fn bf16_native_decode_is_at_least_as_close_to_f32_as_libtorch() {
    check_narrow(Kind::BFloat16, even_config());
    check_narrow(Kind::BFloat16, odd_config());
}

#[test]
fn f16_native_decode_is_at_least_as_close_to_f32_as_libtorch() {
    check_narrow(Kind::Half, even_config());
    check_narrow(Kind::Half, odd_config());
}

#[test]
fn f32_native_and_libtorch_agree_on_awkward_shapes() {
    let case =
        Case { prompts: vec![vec![1, 2, 3], vec![4], vec![5, 6, 7, 8, 9, 10, 11]], steps: 60, config: odd_config() };
    let (_, mut exact) = models(&case.config, Kind::Float);
    let reference = recompute(&exact, &case);
    let native = decode(&exact, &case);
    exact.set_decode_path(DecodePath::Libtorch);
    let libtorch = decode(&exact, &case);
    let (n, l) = (worst(&native, &reference), worst(&libtorch, &reference));
    eprintln!("f32 odd shapes: native {n:e}, libtorch {l:e} from a full recompute");
    assert!(n < 1e-4 && l < 1e-4, "native {n}, libtorch {l}");
}
