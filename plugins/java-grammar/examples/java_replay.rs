//! Replays real Java through the `java_grammar` constraint and measures it.
//!
//! ```text
//! ./dev.sh cargo run -p logitloom-java-grammar --example java_replay -- [--speed-files 12] [--report FILE]
//! ```
//!
//! 1. Trains (once; cached under target/java-grammar/) a 50,257-token
//!    byte-level BPE on java.base from the JDK's src.zip, with the trainer's
//!    own `train_bpe`, or loads `--tokenizer FILE`.
//! 2. Times the vocabulary set-up (token trie + grammar compilation).
//! 3. Feeds every java.base file, tokenized, through the constraint and
//!    lists each file it rejects with the place and the rejected token.
//! 4. Feeds the project's own Java files (tests/data, configs/prompts,
//!    bench/prompts); prompts only need to be valid prefixes.
//! 5. Times the mask computation at every token of `--speed-files` files.
//!
//! Not a test: it takes minutes.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use logitloom_engine::tokenizer::Tokenizer;
use logitloom_java_grammar::{ConstraintError, JavaConstraint, StartMode, Vocabulary};

#[derive(Parser)]
struct Args {
    /// The JDK sources.
    #[arg(long, default_value = "/usr/lib/jvm/openjdk-17/lib/src.zip")]
    src_zip: PathBuf,
    /// Use this tokenizer.json instead of training one.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    #[arg(long, default_value_t = 50_257)]
    vocab_size: usize,
    /// How many java.base files to time masks on (every token of each).
    #[arg(long, default_value_t = 12)]
    speed_files: usize,
    /// Replay only the first N java.base files (0 = all).
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// Where to write the list of rejected files.
    #[arg(long, default_value = "target/java-grammar/rejected.txt")]
    report: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let sources = read_java_base(&args.src_zip)?;
    println!("java.base: {} files, {:.1} MB", sources.len(), sources.iter().map(|s| s.1.len()).sum::<usize>() as f64 / 1e6);

    let tokenizer = load_or_train(&args, &sources)?;
    let eos = tokenizer.eos_token_id().context("the tokenizer has no <|endoftext|>")?;
    let token_bytes = tokenizer.all_token_bytes().to_vec();

    let started = Instant::now();
    let vocab = Arc::new(Vocabulary::new(token_bytes.clone(), token_bytes.len(), eos)?);
    let trie_ms = started.elapsed().as_secs_f64() * 1e3;
    JavaConstraint::new(vocab.clone(), StartMode::File)?;
    let setup_ms = started.elapsed().as_secs_f64() * 1e3;
    println!("set-up for {} tokens: {setup_ms:.0} ms (trie and factory {trie_ms:.0} ms, grammar {:.0} ms)", token_bytes.len(), setup_ms - trie_ms);

    replay_java_base(&args, &tokenizer, &vocab, &sources)?;
    replay_project_files(&tokenizer, &vocab)?;
    time_masks(&args, &tokenizer, &vocab, &sources)?;
    Ok(())
}

fn read_java_base(zip_path: &Path) -> Result<Vec<(String, String)>> {
    let file = std::fs::File::open(zip_path).with_context(|| format!("{}", zip_path.display()))?;
    let mut zip = zip::ZipArchive::new(file).with_context(|| format!("{}", zip_path.display()))?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let name = entry.name().to_string();
        if !(name.starts_with("java.base/") && name.ends_with(".java")) {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text).with_context(|| name.clone())?;
        out.push((name, text));
    }
    out.sort();
    Ok(out)
}

fn load_or_train(args: &Args, sources: &[(String, String)]) -> Result<Tokenizer> {
    if let Some(path) = &args.tokenizer {
        return Ok(Tokenizer::from_file(path)?);
    }
    let cache = PathBuf::from(format!("target/java-grammar/bpe-{}.json", args.vocab_size));
    if cache.exists() {
        return Ok(Tokenizer::from_file(&cache)?);
    }
    println!("training a {}-token BPE on java.base (cached at {})", args.vocab_size, cache.display());
    let started = Instant::now();
    let trained = logitloom_trainer::bpe::train_bpe(sources.iter().map(|s| s.1.as_str()), args.vocab_size, true)?;
    std::fs::create_dir_all(cache.parent().expect("has a parent"))?;
    trained.save(&cache, false).map_err(|e| anyhow::anyhow!("{}: {e}", cache.display()))?;
    println!("trained in {:.0} s", started.elapsed().as_secs_f64());
    Ok(Tokenizer::from_inner(trained))
}

fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}} [{{elapsed}} < {{eta}}] {{msg}}"))
            .expect("valid template"),
    );
    bar
}

/// Feeds a whole file and then EOS.
fn replay(vocab: &Arc<Vocabulary>, mode: StartMode, tokens: &[u32], complete: bool) -> Result<(), ConstraintError> {
    let mut c = JavaConstraint::new(vocab.clone(), mode)?;
    c.feed(tokens)?;
    if complete {
        c.feed(&[vocab.eos()])?;
    }
    Ok(())
}

fn replay_java_base(args: &Args, tokenizer: &Tokenizer, vocab: &Arc<Vocabulary>, sources: &[(String, String)]) -> Result<()> {
    let files = if args.limit > 0 { &sources[..args.limit.min(sources.len())] } else { sources };
    let bar = progress(files.len(), "java.base");
    let started = Instant::now();
    let mut rejected = Vec::new();
    let mut total_tokens = 0usize;
    for (name, text) in files {
        let tokens = tokenizer.encode(text)?;
        total_tokens += tokens.len();
        if let Err(e) = replay(vocab, StartMode::File, &tokens, true) {
            rejected.push(format!("{name}: {e}"));
            bar.set_message(format!("{} rejected", rejected.len()));
        }
        bar.inc(1);
    }
    bar.finish();
    let accepted = files.len() - rejected.len();
    println!(
        "java.base replay: {accepted}/{} files accepted ({:.2}%), {total_tokens} tokens in {:.0} s",
        files.len(),
        100.0 * accepted as f64 / files.len() as f64,
        started.elapsed().as_secs_f64()
    );
    std::fs::create_dir_all(args.report.parent().unwrap_or(Path::new(".")))?;
    std::fs::write(&args.report, rejected.join("\n") + "\n")?;
    for r in &rejected {
        println!("  rejected {r}");
    }
    Ok(())
}

fn replay_project_files(tokenizer: &Tokenizer, vocab: &Arc<Vocabulary>) -> Result<()> {
    let mut files = Vec::new();
    collect_java(Path::new("tests/data"), &mut files);
    let complete_files = files.len();
    collect_java(Path::new("configs/prompts"), &mut files);
    collect_java(Path::new("bench/prompts"), &mut files);
    let mut failures = 0;
    for (i, path) in files.iter().enumerate() {
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        // Test data are whole files; prompts are file beginnings.
        let result = replay(vocab, StartMode::File, &tokenizer.encode(&text)?, i < complete_files);
        if let Err(e) = result {
            failures += 1;
            println!("  rejected {}: {e}", path.display());
        }
    }
    println!("project Java files: {}/{} accepted", files.len() - failures, files.len());
    if failures > 0 {
        bail!("{failures} of the project's own Java files were rejected");
    }
    Ok(())
}

fn collect_java(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect_java(&p, out);
        } else if p.extension().is_some_and(|e| e == "java") {
            out.push(p);
        }
    }
}

fn time_masks(args: &Args, tokenizer: &Tokenizer, vocab: &Arc<Vocabulary>, sources: &[(String, String)]) -> Result<()> {
    // Evenly spread over the alphabetical list, so packages differ.
    let stride = (sources.len() / args.speed_files.max(1)).max(1);
    let chosen: Vec<&(String, String)> = sources.iter().step_by(stride).take(args.speed_files).collect();
    let mut micros = Vec::new();
    let bar = progress(chosen.len(), "mask timing");
    for (name, text) in chosen {
        let tokens = tokenizer.encode(text)?;
        let mut c = JavaConstraint::new(vocab.clone(), StartMode::File)?;
        for &t in &tokens {
            let started = Instant::now();
            let mask = c.mask()?;
            micros.push(started.elapsed().as_secs_f64() * 1e6);
            if !mask.is_allowed(t) {
                bail!("{name}: the mask forbids token {t} that the file has");
            }
            if c.accept(t).is_err() {
                break; // a rejected file; the replay lists it
            }
        }
        bar.inc(1);
    }
    bar.finish();
    micros.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| micros[((micros.len() - 1) as f64 * p).round() as usize];
    println!(
        "mask time over {} masks: p50 {:.1} us, p90 {:.1} us, p99 {:.1} us, max {:.1} us, mean {:.1} us",
        micros.len(),
        q(0.5),
        q(0.9),
        q(0.99),
        micros[micros.len() - 1],
        micros.iter().sum::<f64>() / micros.len() as f64
    );
    Ok(())
}
