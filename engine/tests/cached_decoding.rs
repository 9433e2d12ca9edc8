//! Cached decoding must equal a full recompute without cache: logits
//! within 1e-4 (f32) at every step of a 200-step generation, for batch 1
//! and for batch 4 with different prompt lengths.

use logitloom_engine::generate::{generate, Choice, ContextOverflow, GenerateOptions, SequenceSampler};
use logitloom_engine::{DecodePath, Gpt2, Gpt2Config, KvCache};
use tch::{nn, Device, Kind, Tensor};

/// Greedy, but remembers every logits row it was shown.
struct Recording {
    row: Vec<f32>,
    seen: Vec<Vec<f32>>,
}

impl SequenceSampler for Recording {
    fn row(&mut self) -> &mut [f32] {
        &mut self.row
    }
    fn choose(&mut self, _tokens: &[u32], _prompt_len: usize, _step: usize) -> Result<Choice, String> {
        let logits = &self.row;
        self.seen.push(logits.to_vec());
        // Greedy would quickly loop on one token; a deterministic spread of
        // choices exercises more of the cache.
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
        Ok(Choice::Token(order[self.seen.len() % 3] as u32))
    }
}

fn random_model(seed: i64) -> Gpt2 {
    tch::manual_seed(seed);
    let config = Gpt2Config {
        n_positions: 256,
        vocab_size: 97,
        n_embd: 64,
        n_head: 4,
        n_layer: 3,
        ..Gpt2Config::preset("tiny").unwrap()
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let gpt = Gpt2::new(&vs.root(), &config);
    std::mem::forget(vs); // the variables must outlive the model in this test
    gpt
}

/// Both decode paths: the CPU decode step and libtorch.
fn check(prompts: Vec<Vec<u32>>, steps: usize) {
    for path in [DecodePath::Auto, DecodePath::Libtorch] {
        let mut gpt = random_model(7);
        gpt.set_decode_path(path);
        check_path(&gpt, &prompts, steps);
    }
}

fn check_path(gpt: &Gpt2, prompts: &[Vec<u32>], steps: usize) {
    let mut samplers: Vec<Box<dyn SequenceSampler>> = prompts
        .iter()
        .map(|_| Box::new(Recording { row: vec![0.0; 97], seen: vec![] }) as Box<dyn SequenceSampler>)
        .collect();
    let options = GenerateOptions {
        max_new_tokens: steps,
        eos_token_id: u32::MAX,
        stop_at_eos: false,
        overflow: ContextOverflow::Stop,
    };
    // Keep raw pointers to read the recordings back after generation.
    let recordings: Vec<*const Recording> =
        samplers.iter().map(|s| &**s as *const dyn SequenceSampler as *const Recording).collect();
    let (outputs, _) = generate(gpt, prompts, &mut samplers, &options, &mut |_, _| {}).unwrap();
    let mut worst = 0f64;
    for (b, prompt) in prompts.iter().enumerate() {
        assert_eq!(outputs[b].tokens.len(), steps);
        let full: Vec<i64> = prompt.iter().chain(&outputs[b].tokens).map(|&t| t as i64).collect();
        let idx = Tensor::from_slice(&full).view([1, full.len() as i64]);
        let recompute = tch::no_grad(|| gpt.forward_train(&idx, false)).squeeze_dim(0);
        // SAFETY: the samplers are still alive in `samplers`.
        let seen = unsafe { &(*recordings[b]).seen };
        assert_eq!(seen.len(), steps);
        for (step, row) in seen.iter().enumerate() {
            let expected = recompute.get((prompt.len() + step - 1) as i64);
            let ours = Tensor::from_slice(row);
            let diff = (ours - expected).abs().max().double_value(&[]);
            assert!(diff < 1e-4, "sequence {b}, step {step}: cached and recomputed logits differ by {diff}");
            worst = worst.max(diff);
        }
    }
    eprintln!("{:?}: worst |cached - recomputed| over {} steps: {worst:e}", gpt.decode_path(), steps);
}

#[test]
fn batch_of_one_matches_recompute_for_200_steps() {
    check(vec![vec![5, 17, 3, 88, 42]], 200);
}

#[test]
fn batch_of_four_with_different_prompt_lengths_matches_recompute() {
    check(
        vec![
            vec![1],
            vec![2, 3, 4, 5, 6, 7, 8],
            vec![9, 10, 11],
            vec![12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24],
        ],
        200,
    );
}

#[test]
fn truncating_the_cache_rewinds_exactly() {
    let gpt = random_model(11);
    let ids = Tensor::from_slice(&[3i64, 1, 4, 1, 5, 9, 2, 6]).view([1, 8]);
    let mut cache = KvCache::new(&gpt.config, 1, 32, Device::Cpu, Kind::Float);
    let _guard = tch::no_grad_guard();
    let first = gpt.forward_cached(&ids, &mut cache);
    assert_eq!(cache.lengths(), &[8]);
    cache.truncate(0, 5);
    // Replaying positions 5..8 after the rewind reproduces the same logits.
    let again = gpt.forward_cached(&ids.narrow(1, 5, 3), &mut cache);
    let diff = (first.narrow(1, 5, 3) - again).abs().max().double_value(&[]);
    assert!(diff < 1e-5, "rewound replay differs by {diff}");
    assert_eq!(cache.lengths(), &[8]);
}

#[test]
fn full_context_stops_or_slides_as_configured() {
    let gpt = random_model(13);
    let prompt = vec![(0..250).map(|i| (i % 90) as u32).collect::<Vec<u32>>()];
    let run = |overflow| {
        let mut samplers: Vec<Box<dyn SequenceSampler>> =
            vec![Box::new(Recording { row: vec![0.0; 97], seen: vec![] })];
        let options = GenerateOptions { max_new_tokens: 20, eos_token_id: u32::MAX, stop_at_eos: false, overflow };
        generate(&gpt, &prompt, &mut samplers, &options, &mut |_, _| {}).unwrap().0.remove(0)
    };
    let stopped = run(ContextOverflow::Stop);
    assert_eq!(stopped.finish, logitloom_engine::generate::Finish::ContextFull);
    // 250 prompt tokens + 6 generated fill the 256 positions; the 7th token
    // is chosen from the last logits, then there is no room to feed it.
    assert_eq!(stopped.tokens.len(), 7);
    let slid = run(ContextOverflow::Slide { keep: 128 });
    assert_eq!(slid.finish, logitloom_engine::generate::Finish::MaxTokens);
    assert_eq!(slid.tokens.len(), 20);
}
