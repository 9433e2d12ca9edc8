//! Rewinds in the generation loop: after a sampler asks to go back, every
//! logits row it and the other rows of the batch are shown equals a fresh
//! forward pass over exactly the tokens before it (1e-4, f32), on both
//! decode paths, at batch 1 and at batch 4 with ragged prompts where only
//! one row rewinds.

use logitloom_engine::generate::{generate, Choice, ContextOverflow, GenerateOptions, SequenceSampler, Streamed};
use logitloom_engine::{DecodePath, Gpt2, Gpt2Config};
use tch::{nn, Device, Tensor};

const VOCAB: usize = 97;

/// Chooses a deterministic spread of tokens and, at the given calls, asks
/// to rewind to `to_len`; records every row with the tokens it followed.
struct Rewinding {
    row: Vec<f32>,
    /// (tokens before the row, the row)
    seen: Vec<(Vec<u32>, Vec<f32>)>,
    /// (call number, length to go back to)
    rewinds: Vec<(usize, usize)>,
}

impl SequenceSampler for Rewinding {
    fn row(&mut self) -> &mut [f32] {
        &mut self.row
    }
    fn choose(&mut self, tokens: &[u32], _prompt_len: usize, _step: usize) -> Result<Choice, String> {
        self.seen.push((tokens.to_vec(), self.row.clone()));
        let call = self.seen.len();
        if let Some(&(_, to_len)) = self.rewinds.iter().find(|(at, _)| *at == call) {
            return Ok(Choice::Rewind { to_len });
        }
        let mut order: Vec<usize> = (0..VOCAB).collect();
        order.sort_by(|&a, &b| self.row[b].total_cmp(&self.row[a]));
        Ok(Choice::Token(order[call % 3] as u32))
    }
}

fn random_model(seed: i64) -> Gpt2 {
    tch::manual_seed(seed);
    let config = Gpt2Config {
        n_positions: 128,
        vocab_size: VOCAB,
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

/// `rewinds[b]`: row b's (call, to_len) pairs.
fn check(prompts: Vec<Vec<u32>>, rewinds: Vec<Vec<(usize, usize)>>, steps: usize) {
    for path in [DecodePath::Auto, DecodePath::Libtorch] {
        let mut gpt = random_model(21);
        gpt.set_decode_path(path);
        let mut samplers: Vec<Box<dyn SequenceSampler>> = rewinds
            .iter()
            .map(|r| {
                Box::new(Rewinding { row: vec![0.0; VOCAB], seen: vec![], rewinds: r.clone() })
                    as Box<dyn SequenceSampler>
            })
            .collect();
        let recordings: Vec<*const Rewinding> =
            samplers.iter().map(|s| &**s as *const dyn SequenceSampler as *const Rewinding).collect();
        let options = GenerateOptions {
            max_new_tokens: steps,
            eos_token_id: u32::MAX,
            stop_at_eos: false,
            overflow: ContextOverflow::Stop,
        };
        let mut streamed: Vec<Vec<u32>> = vec![vec![]; prompts.len()];
        let (outputs, stats) = generate(&gpt, &prompts, &mut samplers, &options, &mut |b, event| match event {
            Streamed::Token(t) => streamed[b].push(t),
            Streamed::Rewind { kept } => streamed[b].truncate(kept),
        })
        .unwrap();
        let mut worst = 0f64;
        for (b, prompt) in prompts.iter().enumerate() {
            assert_eq!(outputs[b].tokens.len(), steps, "row {b} keeps its full budget of tokens");
            assert_eq!(streamed[b], outputs[b].tokens, "row {b}: the stream ends as the kept text");
            assert_eq!(outputs[b].rewinds, rewinds[b].len());
            // SAFETY: the samplers are still alive in `samplers`.
            let seen = unsafe { &(*recordings[b]).seen };
            assert_eq!(
                seen.len(),
                steps + rewinds[b].len() + outputs[b].discarded,
                "row {b}: one call per kept or dropped token and per rewind"
            );
            for (call, (before, row)) in seen.iter().enumerate() {
                assert!(before.starts_with(prompt));
                let idx = Tensor::from_slice(&before.iter().map(|&t| t as i64).collect::<Vec<_>>())
                    .view([1, before.len() as i64]);
                let fresh = tch::no_grad(|| gpt.forward_train(&idx, false)).squeeze_dim(0).get(before.len() as i64 - 1);
                let diff = (Tensor::from_slice(row) - fresh).abs().max().double_value(&[]);
                assert!(
                    diff < 1e-4,
                    "{path:?} row {b} call {call} ({} tokens): logits differ from a fresh run by {diff}",
                    before.len()
                );
                worst = worst.max(diff);
            }
        }
        let dropped: usize = outputs.iter().map(|o| o.discarded).sum();
        assert_eq!((stats.rewinds, stats.discarded), (rewinds.iter().map(Vec::len).sum(), dropped));
        eprintln!("{path:?}: worst |rewound - fresh| {worst:e}");
    }
}

#[test]
fn batch_of_one_rewinds_then_matches_a_fresh_run() {
    // Call 10 (14 tokens) goes back to 8; call 20 (17 tokens) redoes its
    // own position (a rewind to the full length); call 30 (26 tokens) goes
    // back to the prompt.
    check(vec![vec![5, 17, 3, 88, 42]], vec![vec![(10, 8), (20, 17), (30, 5)]], 40);
}

#[test]
fn batch_of_four_ragged_rows_only_one_rewinds() {
    let prompts = vec![
        vec![1],
        vec![2, 3, 4, 5, 6, 7, 8],
        vec![9, 10, 11],
        vec![12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24],
    ];
    // Row 2: call 9 (11 tokens) back to 5, call 25 (20 tokens) back to 15.
    check(prompts, vec![vec![], vec![], vec![(9, 5), (25, 15)], vec![]], 40);
}

#[test]
fn a_rewind_outside_the_sequence_is_an_error_naming_the_row() {
    let gpt = random_model(3);
    for to_len in [2, 9] {
        let mut samplers: Vec<Box<dyn SequenceSampler>> =
            vec![Box::new(Rewinding { row: vec![0.0; VOCAB], seen: vec![], rewinds: vec![(3, to_len)] })];
        let options = GenerateOptions {
            max_new_tokens: 10,
            eos_token_id: u32::MAX,
            stop_at_eos: false,
            overflow: ContextOverflow::Stop,
        };
        let error =
            generate(&gpt, &[vec![1, 2, 3, 4]], &mut samplers, &options, &mut |_, _| {}).unwrap_err().to_string();
        assert!(error.contains("sequence 0") && error.contains(&format!("rewind to {to_len} tokens")), "{error}");
    }
}

#[test]
fn a_rewind_after_a_context_slide_cuts_the_slid_window() {
    let gpt = random_model(13);
    let prompt: Vec<u32> = (0..120).map(|i| (i % 90) as u32).collect();
    // 120 + 8 = 128 fills the context and the slide keeps the last 64; the
    // rewind at call 14 goes back to just after the prompt, inside the
    // slid window.
    let mut samplers: Vec<Box<dyn SequenceSampler>> =
        vec![Box::new(Rewinding { row: vec![0.0; VOCAB], seen: vec![], rewinds: vec![(14, 121)] })];
    let recording = &*samplers[0] as *const dyn SequenceSampler as *const Rewinding;
    let options = GenerateOptions {
        max_new_tokens: 20,
        eos_token_id: u32::MAX,
        stop_at_eos: false,
        overflow: ContextOverflow::Slide { keep: 64 },
    };
    let (outputs, _) = generate(&gpt, &[prompt], &mut samplers, &options, &mut |_, _| {}).unwrap();
    assert_eq!(outputs[0].tokens.len(), 20);
    // SAFETY: the sampler is alive in `samplers`.
    let seen = unsafe { &(*recording).seen };
    let (before, row) = &seen[14];
    assert_eq!(before.len(), 121, "the call after the rewind chooses position 121");
    // The cache is full when position 129 is chosen: the slide keeps the
    // last 64 of those 129 tokens (65..129); the rewind cuts that window
    // back, so the model sees tokens 65..121.
    let window = &before[65..];
    let idx = Tensor::from_slice(&window.iter().map(|&t| t as i64).collect::<Vec<_>>()).view([1, window.len() as i64]);
    let fresh = tch::no_grad(|| gpt.forward_train(&idx, false)).squeeze_dim(0).get(window.len() as i64 - 1);
    let diff = (Tensor::from_slice(row) - fresh).abs().max().double_value(&[]);
    assert!(diff < 1e-4, "{diff}");
}
