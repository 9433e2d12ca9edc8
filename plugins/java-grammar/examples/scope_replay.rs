//! Soundness replay of the `java_scope` symbol table on real Java.
//!
//! ```text
//! ./dev.sh cargo run -p logitloom-java-grammar --example scope_replay -- [--modules java.base,java.sql] [--verify-every 50]
//! ```
//!
//! Feeds every file of the chosen src.zip modules, and the project's own
//! Java files, to [`Scope`] as a token sequence and checks that the table
//! allows every token the file has: a refusal is a false ban. The tokens
//! are BPE-like without a trained BPE (which `java_replay --scope` uses
//! with the grammar): GPT-2's pre-tokenisation (whitespace joins the word
//! after it; letters, digits and punctuation runs apart), neighbouring
//! pieces merged and long words split at positions from a fixed hash, so
//! that tokens cross lexemes (`();`, `) {`) and end inside names (`siz`,
//! `e()`). Every `--verify-every`-th position also compares the vocabulary
//! mask ([`ScopeTables`] over the 50,000 most frequent tokens of the
//! corpus) with the per-token reference.
//!
//! Not a test: it takes minutes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use clap::Parser;
use logitloom_java_grammar::scope::{Restriction, Scope, ScopeTables};

#[path = "common/jdk_sources.rs"]
mod jdk_sources;
use jdk_sources::{java_files_under, progress, read_modules};

#[path = "common/pseudo_bpe.rs"]
mod pseudo_bpe;
use pseudo_bpe::tokenize;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "/usr/lib/jvm/openjdk-17/lib/src.zip")]
    src_zip: PathBuf,
    /// src.zip modules to replay, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "java.base")]
    modules: Vec<String>,
    /// Also replay the project's own Java files.
    #[arg(long)]
    project: bool,
    /// Compare the vocabulary mask with the reference at every N-th position (0 = never).
    #[arg(long, default_value_t = 0)]
    verify_every: usize,
    /// Replay only every N-th file.
    #[arg(long, default_value_t = 1)]
    stride: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let index = logitloom_java_grammar::scope::JdkIndex::shared();
    println!("JDK index: {} types, loaded in {:.1} ms", index.len(), started.elapsed().as_secs_f64() * 1e3);
    let mut files = read_modules(&args.src_zip, &args.modules)?;
    if args.project {
        for dir in ["tests/data", "bench/prompts", "bench/prompts-body", "plugins"] {
            for path in java_files_under(Path::new(dir)) {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    files.push((path.display().to_string(), text));
                }
            }
        }
    }
    let files: Vec<_> = files.into_iter().step_by(args.stride.max(1)).collect();
    // The vocabulary for mask checks: the 50,000 most frequent tokens.
    let mut counts: HashMap<&[u8], usize> = HashMap::new();
    for (_, text) in &files {
        for t in tokenize(text) {
            *counts.entry(t).or_default() += 1;
        }
    }
    let mut vocab: Vec<(&[u8], usize)> = counts.into_iter().collect();
    vocab.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    vocab.truncate(50_000);
    let tokens: Vec<Vec<u8>> = vocab.iter().map(|(t, _)| t.to_vec()).chain([b"<|endoftext|>".to_vec()]).collect();
    let eos = (tokens.len() - 1) as u32;
    let started = Instant::now();
    let tables = ScopeTables::new(&tokens, tokens.len(), eos);
    println!("vocabulary tables for {} tokens: {:.0} ms", tokens.len(), started.elapsed().as_secs_f64() * 1e3);

    let bar = progress(files.len(), &args.modules.join("+"));
    let mut refused = Vec::new();
    let (mut positions, mut restricted, mut verified) = (0usize, [0usize; 4], 0usize);
    let mut micros = Vec::new();
    // Bare names used as values above any declaration: errors only under
    // java_scope's `declared_before_use` assumption.
    let mut undeclared = Vec::new();
    // Comments inside unfinished statements (`comments_between_statements`).
    let (mut misplaced_comments, mut comment_files) = (0usize, Vec::new());
    for (name, text) in &files {
        let mut scope = Scope::new();
        let mut last_undeclared = None;
        let mut last_comment = None;
        for (i, token) in tokenize(text).into_iter().enumerate() {
            positions += 1;
            let t0 = Instant::now();
            let restriction = scope.restriction();
            let mut mask = toktrie::SimpleVob::alloc(tokens.len());
            if args.verify_every > 0 && positions % args.verify_every == 0 || positions % 97 == 0 {
                mask.set_all(true);
                tables.apply(&restriction, &mut mask);
                micros.push(t0.elapsed().as_secs_f64() * 1e6);
            }
            match &restriction {
                Restriction::None => {}
                Restriction::Only { .. } => restricted[0] += 1,
                Restriction::Forbid { .. } => restricted[1] += 1,
                Restriction::NoDot => restricted[2] += 1,
                Restriction::NoClose | Restriction::NoEmptyParams => restricted[3] += 1,
            }
            if args.verify_every > 0 && positions % args.verify_every == 0 && restriction != Restriction::None {
                let emptied = mask.num_set() == tokens.len();
                for (id, bytes) in tokens.iter().enumerate().take(eos as usize) {
                    if !emptied && mask.is_allowed(id as u32) != scope.allows(bytes) {
                        anyhow::bail!(
                            "{name}: token {i}: mask and reference differ on {:?} ({restriction:?})",
                            String::from_utf8_lossy(bytes)
                        );
                    }
                }
                verified += 1;
            }
            if !scope.allows(token) {
                let before = &text.as_bytes()[..text.len().min(token.as_ptr() as usize - text.as_ptr() as usize)];
                let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
                let tail = String::from_utf8_lossy(&before[before.len().saturating_sub(50)..]).into_owned();
                refused.push(format!(
                    "{name}:{line}: {:?} refused after {tail:?} ({restriction:?})",
                    String::from_utf8_lossy(token)
                ));
                bar.set_message(format!("{} refused", refused.len()));
                break;
            }
            scope.observe(token);
            let now = scope.undeclared_use();
            if now.is_some() && now != last_undeclared {
                let line = 1 + text.as_bytes()[..token.as_ptr() as usize - text.as_ptr() as usize]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                let used = scope.analyzer().undeclared_use.map(|at| {
                    let rest = &text.as_bytes()[at..];
                    let end = rest.iter().position(|b| !b.is_ascii_alphanumeric() && *b != b'_' && *b != b'$');
                    String::from_utf8_lossy(&rest[..end.unwrap_or(rest.len())]).into_owned()
                });
                undeclared.push(format!("{name}:{line}: {}", used.unwrap_or_default()));
            }
            last_undeclared = now;
            let comment = scope.misplaced_comment();
            if comment.is_some() && comment != last_comment {
                misplaced_comments += 1;
                if comment_files.last() != Some(name) {
                    comment_files.push(name.to_string());
                }
            }
            last_comment = comment;
        }
        bar.inc(1);
    }
    bar.finish();
    micros.sort_by(f64::total_cmp);
    let q = |p: f64| micros.get(((micros.len().max(1) - 1) as f64 * p) as usize).copied().unwrap_or(0.0);
    println!(
        "{} files, {positions} tokens: {} refused; restricted positions: {} member lists, {} declarations, {} no-dot, {} no-close; {verified} masks verified",
        files.len(),
        refused.len(),
        restricted[0],
        restricted[1],
        restricted[2],
        restricted[3]
    );
    println!(
        "scope restriction + mask (sampled, {} masks): p50 {:.1} us, p99 {:.1} us, max {:.1} us",
        micros.len(),
        q(0.5),
        q(0.99),
        q(1.0)
    );
    for r in refused.iter().take(40) {
        println!("  refused {r}");
    }
    println!(
        "declared_before_use: {} bare names used as values above any declaration (a field declared further down, or a miss of the table)",
        undeclared.len()
    );
    for r in &undeclared {
        println!("  undeclared {r}");
    }
    println!(
        "comments_between_statements: {misplaced_comments} comments begin inside an unfinished statement, in {} files (first: {})",
        comment_files.len(),
        comment_files.iter().take(5).map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}
