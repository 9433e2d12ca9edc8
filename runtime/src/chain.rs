//! Generation through a logit-processor chain: the model loop
//! ([`logitloom_engine::generate`]) with a chain instance choosing each
//! sequence's tokens.

use std::sync::Arc;
use std::time::Duration;

use logitloom_plugin_host::{
    ChainInstance, Decision, LoadedChain, Observation, OwnedTokenBytes, RewindEvent, SequenceSetup,
};

use logitloom_engine::generate::{
    generate, Choice, GenerateOptions, GenerationStats, SequenceOutput, SequenceSampler, Streamed,
};
use logitloom_engine::Model;

use crate::RuntimeError;

/// Lets a chain instance pick one sequence's tokens.
pub struct ChainSampler<'a> {
    pub instance: &'a mut ChainInstance,
}

impl SequenceSampler for ChainSampler<'_> {
    fn row(&mut self) -> &mut [f32] {
        self.instance.input_row()
    }
    fn choose(&mut self, tokens: &[u32], prompt_len: usize, step: usize) -> Result<Choice, String> {
        match self.instance.decide_input_row(tokens, prompt_len, step).map_err(|e| e.to_string())? {
            Decision::Token(token) => Ok(Choice::Token(token)),
            Decision::Rewind { to_len } => Ok(Choice::Rewind { to_len }),
        }
    }
}

/// One sequence's result with what its chain observed.
pub struct ChainSequenceOutput {
    pub output: SequenceOutput,
    pub seed: u64,
    pub observations: Vec<Observation>,
    /// Cumulative time per stage label.
    pub stage_times: Vec<(String, Duration)>,
    /// Every rewind a stage asked for, granted or refused.
    pub rewinds: Vec<RewindEvent>,
    /// Time spent rolling the chain's stages back (in `stage_times` too).
    pub rollback_time: Duration,
}

/// The byte strings of every id the model can emit (ids past the
/// tokenizer's vocabulary, e.g. padding rows, get none).
pub fn model_token_bytes(model: &Model) -> OwnedTokenBytes {
    let mut tokens = model.tokenizer.all_token_bytes().to_vec();
    tokens.resize(model.config().vocab_size, Vec::new());
    OwnedTokenBytes::from_tokens(&tokens)
}

/// Generates every prompt with its own instance of `chain`, seeded with `seeds[i]`.
pub fn generate_with_chain(
    model: &Model,
    chain: &LoadedChain,
    prompts: &[Vec<u32>],
    seeds: &[u64],
    options: &GenerateOptions,
    on_event: &mut dyn FnMut(usize, Streamed),
) -> Result<(Vec<ChainSequenceOutput>, GenerationStats), RuntimeError> {
    assert_eq!(prompts.len(), seeds.len(), "one seed per prompt");
    let token_bytes = chain.needs_token_bytes().then(|| Arc::new(model_token_bytes(model)));
    let mut instances = seeds
        .iter()
        .map(|&seed| {
            chain.instantiate(&SequenceSetup {
                vocab_size: model.config().vocab_size,
                eos_token_id: options.eos_token_id,
                seed,
                token_bytes: token_bytes.clone(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (outputs, stats) = {
        let mut samplers: Vec<Box<dyn SequenceSampler + '_>> = instances
            .iter_mut()
            .map(|instance| Box::new(ChainSampler { instance }) as Box<dyn SequenceSampler>)
            .collect();
        generate(&model.gpt, prompts, &mut samplers, options, on_event)?
    };
    let results = outputs
        .into_iter()
        .zip(instances.iter_mut())
        .zip(seeds)
        .map(|((output, instance), &seed)| ChainSequenceOutput {
            output,
            seed,
            observations: instance.take_observations(),
            stage_times: instance.stage_times(),
            rewinds: instance.rewind_events().to_vec(),
            rollback_time: instance.rollback_time(),
        })
        .collect();
    Ok((results, stats))
}
