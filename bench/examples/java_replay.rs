//! Replays real Java through the `java_grammar` constraint and measures it.
//!
//! ```text
//! ./dev.sh cargo run --release -p logitloom-bench --example java_replay -- [--speed-files 12] [--report FILE]
//! ```
//!
//! 1. Trains (once; cached under target/java-grammar/) a 50,257-token
//!    byte-level BPE on java.base from the JDK's src.zip, with the trainer's
//!    own `train_bpe`, or loads `--tokenizer FILE`.
//! 2. Times the vocabulary set-up (token trie + grammar compilation).
//! 3. Feeds every java.base file, tokenized, through the constraint and
//!    lists each file it rejects with the place and the rejected token.
//! 4. Feeds the project's own Java files (tests/data,
//!    bench/prompts); prompts only need to be valid prefixes; then the
//!    files of `--extra-modules` (by default java.sql, java.logging,
//!    java.net.http and jdk.httpserver), a second corpus.
//!    `--scope` does all of it with the `java_scope` symbol table on.
//! 5. Times the mask computation at every token of `--speed-files` files.
//!
//! Not a test: it takes minutes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use logitloom_engine::tokenizer::Tokenizer;
// The grammar crate's example helpers: this example lives in bench only
// because it needs the engine's tokenizer and the trainer's BPE.
#[path = "../../plugins/java-grammar/examples/common/jdk_sources.rs"]
mod jdk_sources;
use jdk_sources::{java_files_under, progress, read_modules};
use logitloom_java_grammar::{Acceleration, ConstraintError, JavaConstraint, StartMode, Vocabulary};

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
    /// Print the context of every mask slower than this many microseconds.
    #[arg(long)]
    show_slow_us: Option<f64>,
    /// Compare every mask of this many java.base files (spread like the
    /// timed ones) with the mask llguidance computes unaided (no slices, no
    /// word classes); stops at the first difference.
    #[arg(long, default_value_t = 0)]
    verify_masks: usize,
    /// Time llguidance unaided, for comparison.
    #[arg(long)]
    plain: bool,
    /// Before timing, compute (untimed) every mask of this many other
    /// java.base files, as a plugin that has served for a while would have:
    /// masks are cached by parser structure.
    #[arg(long, default_value_t = 0)]
    warm_files: usize,
    /// Skip the java.base replay (timing only).
    #[arg(long)]
    skip_replay: bool,
    /// Turn on scope-aware decoding (`java_scope`): the replay then checks
    /// that the symbol table refuses no token of real code, and the timing
    /// covers grammar + scope masks.
    #[arg(long)]
    scope: bool,
    /// With --scope: at every this-many-th token, compare the scope's
    /// vocabulary mask with the token-by-token reference (0 = never).
    #[arg(long, default_value_t = 0)]
    scope_verify_every: usize,
    /// Also replay the files of these src.zip modules (a second corpus,
    /// which neither stage was developed on), comma-separated; "" for none.
    #[arg(long, value_delimiter = ',', default_value = "java.sql,java.logging,java.net.http,jdk.httpserver")]
    extra_modules: Vec<String>,
    /// Where to write the list of rejected files.
    #[arg(long, default_value = "target/java-grammar/rejected.txt")]
    report: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    SCOPE.store(args.scope, std::sync::atomic::Ordering::Relaxed);
    SCOPE_VERIFY_EVERY.store(args.scope_verify_every, std::sync::atomic::Ordering::Relaxed);
    let sources = read_java_base(&args.src_zip)?;
    println!(
        "java.base: {} files, {:.1} MB",
        sources.len(),
        sources.iter().map(|s| s.1.len()).sum::<usize>() as f64 / 1e6
    );

    let tokenizer = load_or_train(&args, &sources)?;
    let eos = tokenizer.eos_token_id().context("the tokenizer has no <|endoftext|>")?;
    let token_bytes = tokenizer.all_token_bytes().to_vec();

    let started = Instant::now();
    let acceleration = if args.plain { Acceleration::plain() } else { Acceleration::full() };
    let vocab = Arc::new(Vocabulary::with_acceleration(token_bytes.clone(), token_bytes.len(), eos, acceleration)?);
    let trie_ms = started.elapsed().as_secs_f64() * 1e3;
    constraint(&vocab, StartMode::File)?;
    if args.scope {
        vocab.scope_tables();
    }
    let setup_ms = started.elapsed().as_secs_f64() * 1e3;
    println!(
        "set-up for {} tokens: {setup_ms:.0} ms (trie and factory {trie_ms:.0} ms, grammar {:.0} ms); {} tokens stood for by a word-class representative",
        token_bytes.len(),
        setup_ms - trie_ms,
        vocab.tokens_in_word_classes()
    );

    if args.show_slow_us.is_some() {
        println!("{}", vocab.slice_stats());
    }
    // Masks are cached by parser structure (third_party/llguidance), in
    // the vocabulary's shared lexer: time first, so that nothing before
    // has seen the timed files.
    time_masks(&args, &tokenizer, &vocab, &sources)?;
    if args.verify_masks > 0 {
        let plain = Arc::new(Vocabulary::with_acceleration(
            token_bytes.clone(),
            token_bytes.len(),
            eos,
            Acceleration::plain(),
        )?);
        verify_masks(&args, &tokenizer, &vocab, &plain, &sources)?;
    }
    if !args.skip_replay {
        replay_java_base(&args, &tokenizer, &vocab, &sources, "java.base")?;
        replay_project_files(&tokenizer, &vocab)?;
        if args.extra_modules.iter().any(|m| !m.is_empty()) {
            let extra = read_modules(&args.src_zip, &args.extra_modules)?;
            replay_java_base(&args, &tokenizer, &vocab, &extra, &args.extra_modules.join("+"))?;
        }
        if args.scope_verify_every > 0 {
            println!(
                "scope masks compared with the per-token reference: {}",
                SCOPE_VERIFIED.load(std::sync::atomic::Ordering::Relaxed)
            );
        }
    }
    Ok(())
}

fn read_java_base(zip_path: &Path) -> Result<Vec<(String, String)>> {
    read_modules(zip_path, &["java.base".to_string()])
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

static SCOPE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static SCOPE_VERIFY_EVERY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static SCOPE_VERIFIED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn constraint(vocab: &Arc<Vocabulary>, mode: StartMode) -> Result<JavaConstraint, ConstraintError> {
    let mut c = JavaConstraint::new(vocab.clone(), mode)?;
    if SCOPE.load(std::sync::atomic::Ordering::Relaxed) {
        c.enable_scope();
    }
    Ok(c)
}

/// Feeds a whole file and then EOS.
fn replay(vocab: &Arc<Vocabulary>, mode: StartMode, tokens: &[u32], complete: bool) -> Result<(), ConstraintError> {
    let mut c = constraint(vocab, mode)?;
    let every = SCOPE_VERIFY_EVERY.load(std::sync::atomic::Ordering::Relaxed);
    if every > 0 && c.scope().is_some() {
        let tables = vocab.scope_tables();
        for (i, &t) in tokens.iter().enumerate() {
            if i % every == 0 {
                let scope = c.scope().expect("enabled");
                let mut fast = toktrie::SimpleVob::alloc(vocab.vocab_size());
                fast.set_all(true);
                scope.apply(&tables, &mut fast);
                let restricted = fast.num_set() < vocab.vocab_size();
                for id in 0..vocab.vocab_size() as u32 {
                    // `apply` keeps everything when it would forbid everything.
                    if id != vocab.eos() && restricted && fast.is_allowed(id) != scope.allows(vocab.token_bytes(id)) {
                        panic!(
                            "scope mask differs from the reference at token {id} {:?} after {:?}",
                            String::from_utf8_lossy(vocab.token_bytes(id)),
                            String::from_utf8_lossy(&c.text()[c.text().len().saturating_sub(60)..])
                        );
                    }
                }
                SCOPE_VERIFIED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            c.feed(&[t])?;
        }
        if complete {
            c.feed(&[vocab.eos()])?;
        }
        return Ok(());
    }
    c.feed(tokens)?;
    if complete {
        c.feed(&[vocab.eos()])?;
    }
    Ok(())
}

fn replay_java_base(
    args: &Args,
    tokenizer: &Tokenizer,
    vocab: &Arc<Vocabulary>,
    sources: &[(String, String)],
    corpus: &str,
) -> Result<()> {
    let files = if args.limit > 0 { &sources[..args.limit.min(sources.len())] } else { sources };
    let bar = progress(files.len(), corpus);
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
        "{corpus} replay: {accepted}/{} files accepted ({:.2}%), {total_tokens} tokens in {:.0} s",
        files.len(),
        100.0 * accepted as f64 / files.len() as f64,
        started.elapsed().as_secs_f64()
    );
    std::fs::create_dir_all(args.report.parent().unwrap_or(Path::new(".")))?;
    let report = args.report.with_file_name(format!(
        "{}-{corpus}.txt",
        args.report.file_stem().and_then(|s| s.to_str()).unwrap_or("rejected")
    ));
    std::fs::write(&report, rejected.join("\n") + "\n")?;
    for r in &rejected {
        println!("  rejected {r}");
    }
    Ok(())
}

fn replay_project_files(tokenizer: &Tokenizer, vocab: &Arc<Vocabulary>) -> Result<()> {
    let mut files = java_files_under(Path::new("tests/data"));
    let complete_files = files.len();
    files.extend(java_files_under(Path::new("bench/prompts")));
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

/// The files the timing and the verification use: evenly spread over the
/// alphabetical list, so packages differ.
fn spread(sources: &[(String, String)], count: usize) -> Vec<&(String, String)> {
    let stride = (sources.len() / count.max(1)).max(1);
    sources.iter().step_by(stride).take(count).collect()
}

fn verify_masks(
    args: &Args,
    tokenizer: &Tokenizer,
    fast: &Arc<Vocabulary>,
    plain: &Arc<Vocabulary>,
    sources: &[(String, String)],
) -> Result<()> {
    let chosen = spread(sources, args.verify_masks);
    let bar = progress(chosen.len(), "verifying masks");
    let mut compared = 0usize;
    for (name, text) in chosen {
        let tokens = tokenizer.encode(text)?;
        let mut a = JavaConstraint::new(fast.clone(), StartMode::File)?;
        let mut b = JavaConstraint::new(plain.clone(), StartMode::File)?;
        for (i, &t) in tokens.iter().enumerate() {
            let (ma, mb) = (a.mask()?, b.mask()?);
            if ma != mb {
                let differing: Vec<String> = (0..fast.vocab_size() as u32)
                    .filter(|&id| ma.is_allowed(id) != mb.is_allowed(id))
                    .take(10)
                    .map(|id| {
                        format!(
                            "{:?} (accelerated {})",
                            String::from_utf8_lossy(fast.token_bytes(id)),
                            ma.is_allowed(id)
                        )
                    })
                    .collect();
                let tail = String::from_utf8_lossy(&a.text()[a.text().len().saturating_sub(60)..]).into_owned();
                bail!("{name}: token {i}: masks differ after {tail:?}: {}", differing.join(", "));
            }
            compared += 1;
            if a.accept(t).is_err() || b.accept(t).is_err() {
                break;
            }
        }
        bar.inc(1);
    }
    bar.finish();
    println!("verified {compared} masks: accelerated and unaided masks are identical");
    Ok(())
}

fn time_masks(args: &Args, tokenizer: &Tokenizer, vocab: &Arc<Vocabulary>, sources: &[(String, String)]) -> Result<()> {
    let chosen = spread(sources, args.speed_files);
    if args.warm_files > 0 {
        // Offset by half a stride: none of these is a timed file.
        let offset = sources.len() / args.warm_files.max(1) / 2;
        let warm: Vec<_> = spread(&sources[offset..], args.warm_files)
            .into_iter()
            .filter(|file| !chosen.iter().any(|timed| timed.0 == file.0))
            .collect();
        let bar = progress(warm.len(), "warming the mask cache");
        for (_, text) in &warm {
            let mut c = JavaConstraint::new(vocab.clone(), StartMode::File)?;
            for t in tokenizer.encode(text)? {
                c.mask()?;
                if c.accept(t).is_err() {
                    break;
                }
            }
            bar.inc(1);
        }
        bar.finish();
        println!("warmed on {} other java.base files", warm.len());
    }
    let mut micros = Vec::new();
    // A digest of every mask, to compare runs that must agree (e.g. with
    // and without llguidance's structural mask cache).
    let mut digest = std::collections::hash_map::DefaultHasher::new();
    let bar = progress(chosen.len(), "mask timing");
    for (name, text) in chosen {
        let tokens = tokenizer.encode(text)?;
        let mut c = constraint(vocab, StartMode::File)?;
        for &t in &tokens {
            let started = Instant::now();
            let mask = c.mask()?;
            let us = started.elapsed().as_secs_f64() * 1e6;
            micros.push(us);
            mask.iter().for_each(|allowed| std::hash::Hash::hash(&allowed, &mut digest));
            if args.show_slow_us.is_some_and(|limit| us > limit) {
                let text = c.text();
                let tail = String::from_utf8_lossy(&text[text.len().saturating_sub(30)..]).into_owned();
                println!(
                    "slow {us:8.0} us allowed {:6} after {tail:?} next {:?} {}",
                    mask.num_set(),
                    String::from_utf8_lossy(vocab.token_bytes(t)),
                    c.last_mask_stats()
                );
            }
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
    let over = |limit: f64| micros.iter().filter(|&&us| us > limit).count();
    println!(
        "masks over 50 us: {}, over 1 ms: {} ({:.2} %)",
        over(50.0),
        over(1000.0),
        100.0 * over(1000.0) as f64 / micros.len() as f64
    );
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
    println!("mask digest {:016x}", std::hash::Hasher::finish(&digest));
    Ok(())
}
