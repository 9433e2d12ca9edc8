//! `logitloom-replay`: the Rust side of the Python package's equivalence
//! tests. It runs a chain on logits rows read from a file exactly as the
//! engine's generation loop does (`ChainInstance::input_row` +
//! `step_input_row`, token bytes from `engine::Tokenizer`, one seed per
//! sequence, finished sequences skipped) and prints the tokens and the
//! `--trace` lines as one JSON object.
//!
//! ```text
//! logitloom-replay --chain FILE --logits FILE.f32 --batch B --steps N --vocab V
//!                  --prompt 1,2,3 [--tokenizer tokenizer.json] [--eos ID]
//!                  [--seed S] [--ignore-eos]
//! logitloom-replay --print-java-lark
//! ```
//! The logits file is `steps x batch x vocab` little-endian f32, row
//! `step * batch + b` for sequence `b`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use logitloom_engine::tokenizer::Tokenizer;
use logitloom_plugin_host::{ChainSpec, HostOptions, OwnedTokenBytes, PluginLibrary, SequenceSetup};

#[derive(Default)]
struct Args {
    chain: Option<PathBuf>,
    logits: Option<PathBuf>,
    tokenizer: Option<PathBuf>,
    batch: usize,
    steps: usize,
    vocab: usize,
    prompt: Vec<u32>,
    eos: Option<u32>,
    seed: u64,
    ignore_eos: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args { batch: 1, ..Args::default() };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--ignore-eos" {
            args.ignore_eos = true;
            continue;
        }
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<u64>().with_context(|| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--chain" => args.chain = Some(value.into()),
            "--logits" => args.logits = Some(value.into()),
            "--tokenizer" => args.tokenizer = Some(value.into()),
            "--batch" => args.batch = number(&value)? as usize,
            "--steps" => args.steps = number(&value)? as usize,
            "--vocab" => args.vocab = number(&value)? as usize,
            "--eos" => args.eos = Some(number(&value)? as u32),
            "--seed" => args.seed = number(&value)?,
            "--prompt" => {
                args.prompt = value
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| number(s).map(|n| n as u32))
                    .collect::<Result<_, _>>()?
            }
            _ => bail!("unknown flag {flag}"),
        }
    }
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    // The expanded Java grammar, for benchmarks that hand it to llguidance directly.
    if std::env::args().nth(1).as_deref() == Some("--print-java-lark") {
        print!("{}", logitloom_java_grammar::lark_source(logitloom_java_grammar::StartMode::File));
        return Ok(());
    }
    let args = parse_args()?;
    let chain_path = args.chain.context("--chain is required")?;
    let logits_path = args.logits.context("--logits is required")?;
    if args.vocab == 0 || args.batch == 0 {
        bail!("--vocab and --batch must be at least 1");
    }
    let bytes = std::fs::read(&logits_path).with_context(|| format!("cannot read {}", logits_path.display()))?;
    let expected = args.steps * args.batch * args.vocab * 4;
    if bytes.len() != expected {
        bail!("{}: {} bytes, expected {expected} (steps x batch x vocab f32)", logits_path.display(), bytes.len());
    }
    let logits: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();

    let chain = ChainSpec::from_file(&chain_path, &PluginLibrary::from_entries(logitloom_builtins::entries()))?
        .load(&HostOptions::default())?;
    let tokenizer = args.tokenizer.as_deref().map(Tokenizer::from_file).transpose()?;
    let eos = args
        .eos
        .or_else(|| tokenizer.as_ref().and_then(Tokenizer::eos_token_id))
        .context("give --eos or --tokenizer")?;
    // As logitloom_runtime::model_token_bytes: padded or cut to the logits' width.
    let token_bytes = match (&tokenizer, chain.needs_token_bytes()) {
        (Some(t), true) => {
            let mut tokens = t.all_token_bytes().to_vec();
            tokens.resize(args.vocab, Vec::new());
            Some(Arc::new(OwnedTokenBytes::from_tokens(&tokens)))
        }
        (None, true) => bail!("the chain needs token bytes: give --tokenizer"),
        _ => None,
    };

    let mut instances = (0..args.batch as u64)
        .map(|b| {
            chain.instantiate(&SequenceSetup {
                vocab_size: args.vocab,
                eos_token_id: eos,
                seed: args.seed.wrapping_add(b),
                token_bytes: token_bytes.clone(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut tokens = vec![args.prompt.clone(); args.batch];
    let mut finished = vec![false; args.batch];
    let prompt_len = args.prompt.len();
    for step in 0..args.steps {
        for b in 0..args.batch {
            if finished[b] {
                continue;
            }
            let start = (step * args.batch + b) * args.vocab;
            instances[b].input_row().copy_from_slice(&logits[start..start + args.vocab]);
            let token =
                instances[b].step_input_row(&tokens[b], prompt_len, step).with_context(|| format!("sequence {b}"))?;
            tokens[b].push(token);
            finished[b] = !args.ignore_eos && token == eos;
        }
    }
    let mut trace = Vec::new();
    for (seq, instance) in instances.iter_mut().enumerate() {
        for o in instance.take_observations() {
            trace.push(serde_json::json!({"stage": o.stage, "seq": seq, "step": o.step, "record": o.record}));
        }
    }
    let generated: Vec<&[u32]> = tokens.iter().map(|t| &t[prompt_len..]).collect();
    println!("{}", serde_json::json!({"tokens": generated, "trace": trace}));
    Ok(())
}
