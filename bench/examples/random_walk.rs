//! Soundness smoke test without a model: random walks through the masks.
//!
//! ```text
//! ./dev.sh cargo run -p logitloom-bench --example random_walk -- [--walks 120] [--out DIR]
//! ```
//!
//! Drives the `java_grammar` processor exactly as the engine does (create
//! with parameters and token bytes, `process` to mask a logits row, `accept`
//! the chosen token), but picks tokens at random among those the mask
//! allowed, favouring EOS and closing punctuation so that walks end. Walks
//! that reach EOS are written out, wrapped into a class or method where the
//! start mode needs it, and checked with javac's parser
//! (`-XDshould-stop.ifError=PARSE`): a sound mask never lets a syntax error
//! through. Needs the tokenizer that `java_replay` trained.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::ProgressBar;
use logitloom_engine::tokenizer::Tokenizer;
use logitloom_java_grammar::library;
use logitloom_numerics::Rng;
use logitloom_plugin_api::{ParamValue, Setup, Step, TokenBytes};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "target/java-grammar/bpe-50257.json")]
    tokenizer: PathBuf,
    /// Walks per start mode.
    #[arg(long, default_value_t = 40)]
    walks: usize,
    #[arg(long, default_value_t = 400)]
    max_tokens: usize,
    #[arg(long, default_value = "target/java-grammar/walks")]
    out: PathBuf,
}

struct Mode {
    start: &'static str,
    prompt: &'static str,
    wrap: fn(&str, usize) -> String,
}

const MODES: [Mode; 3] = [
    Mode { start: "file", prompt: "class Walk {\n    int size;\n", wrap: |text, _| text.to_string() },
    Mode {
        start: "class-body",
        prompt: "    private int count;\n",
        wrap: |text, _| format!("class Walk {{\n{text}\n}}\n"),
    },
    Mode {
        start: "method-body",
        prompt: "        int total = 0;\n",
        wrap: |text, _| format!("class Walk {{\n    void run() {{\n{text}\n    }}\n}}\n"),
    },
];

fn main() -> Result<()> {
    let args = Args::parse();
    let tokenizer = Tokenizer::from_file(&args.tokenizer).context("run the java_replay example first to train it")?;
    let eos = tokenizer.eos_token_id().context("no <|endoftext|>")?;
    let (data, offsets) = TokenBytes::flatten(tokenizer.all_token_bytes());
    let vocab_size = tokenizer.vocab_size();
    let weight_of: Vec<f64> = (0..vocab_size as u32)
        .map(|t| {
            let b = tokenizer.token_bytes(t);
            if b.iter().any(|c| b"});".contains(c)) {
                40.0
            } else {
                1.0
            }
        })
        .collect();
    let entry = library()[0];
    std::fs::create_dir_all(&args.out)?;
    let mut written = Vec::new();
    let mut unfinished = 0;
    let bar = ProgressBar::new((args.walks * MODES.len()) as u64);
    for (m, mode) in MODES.iter().enumerate() {
        let mut params = BTreeMap::new();
        params.insert("start".to_string(), ParamValue::String(mode.start.into()));
        if mode.start == "method-body" {
            params.insert("method_return".to_string(), ParamValue::String("void".into()));
        }
        for walk in 0..args.walks {
            let mut rng = Rng::from_seed(0x9E37_79B9_7F4A_7C15 ^ ((m * 1000 + walk + 1) as u64));
            let setup = Setup {
                vocab_size,
                eos_token_id: eos,
                seed: rng.next_u64(),
                token_bytes: Some(TokenBytes { data: &data, offsets: &offsets }),
            };
            let mut processor = (entry.create)(&params, &setup).map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut tokens = tokenizer.encode(mode.prompt)?;
            let prompt_len = tokens.len();
            let mut ended = false;
            for step in 0..args.max_tokens {
                let mut logits = vec![0.0f32; vocab_size];
                let mut s = Step::new(&tokens, prompt_len, step, vocab_size, eos, None);
                processor.process(&mut s, &mut logits).map_err(|e| anyhow::anyhow!("{e}"))?;
                let allowed: Vec<u32> = (0..vocab_size as u32).filter(|&t| logits[t as usize].is_finite()).collect();
                if allowed.is_empty() {
                    bail!("walk {walk} ({}): empty mask after {:?}", mode.start, tokenizer.decode(&tokens));
                }
                // Where EOS is allowed, take it ever more likely as the walk grows.
                let token =
                    if allowed.contains(&eos) && rng.next_f64() < 0.02 + 2.0 * step as f64 / args.max_tokens as f64 {
                        eos
                    } else {
                        let total: f64 = allowed.iter().map(|&t| weight_of[t as usize]).sum();
                        let mut r = rng.next_f64() * total;
                        *allowed
                            .iter()
                            .find(|&&t| {
                                r -= weight_of[t as usize];
                                r <= 0.0
                            })
                            .unwrap_or(&allowed[0])
                    };
                let mut s = Step::new(&tokens, prompt_len, step, vocab_size, eos, None);
                processor.accept(&mut s, token).map_err(|e| anyhow::anyhow!("{e}"))?;
                if token == eos {
                    ended = true;
                    break;
                }
                tokens.push(token);
            }
            bar.inc(1);
            if !ended {
                unfinished += 1;
                continue;
            }
            let path = args.out.join(format!("walk_{}_{walk}", mode.start)).join("Walk.java");
            std::fs::create_dir_all(path.parent().expect("has a parent"))?;
            std::fs::write(&path, (mode.wrap)(&tokenizer.decode(&tokens), walk))?;
            written.push(path);
        }
    }
    bar.finish();
    let mut syntax_errors = 0;
    for path in &written {
        let out = Command::new("javac")
            .args(["-XDshould-stop.ifError=PARSE", "-XDshould-stop.ifNoError=PARSE", "-d"])
            .arg(std::env::temp_dir().join("walk-classes"))
            .arg(path)
            .output()
            .context("running javac")?;
        if !out.status.success() {
            syntax_errors += 1;
            println!("javac syntax error in {}:\n{}", path.display(), String::from_utf8_lossy(&out.stderr));
        }
    }
    // A full compile of random programs fails on unknown names; what
    // matters is that none of its errors is about a return statement.
    let mut return_errors = 0;
    for path in &written {
        let out = Command::new("javac")
            .args(["-Xmaxerrs", "100000", "-d"])
            .arg(std::env::temp_dir().join("walk-classes"))
            .arg(path)
            .output()
            .context("running javac")?;
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            if line.contains("missing return value") || line.contains("unexpected return value") {
                return_errors += 1;
                println!("{}: {line}", path.display());
            }
        }
    }
    println!(
        "{} walks ended in EOS ({unfinished} hit {} tokens); javac found syntax errors in {syntax_errors}, \
         return statements disagreeing with their method in {return_errors}",
        written.len(),
        args.max_tokens
    );
    Ok(())
}
