//! `logitloom prepare|train|plot-loss`: thin wrappers over `logitloom-trainer`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use logitloom_trainer::corpus::CorpusOptions;
use logitloom_trainer::{PrepareOptions, ProjectPrepareOptions, TrainConfig, TrainOptions};

#[derive(clap::Args)]
pub struct PrepareArgs {
    /// A directory of .java files or a zip of them (e.g. /usr/lib/jvm/openjdk-17/lib/src.zip);
    /// with --by-project, a directory with one sub-directory per project.
    pub input: PathBuf,
    /// Output directory for tokenizer.json, train.bin, val.bin and meta.json.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Vocabulary size of the byte-level BPE to train (ignored with --tokenizer).
    #[arg(long, default_value_t = 8192)]
    pub vocab_size: usize,
    /// Use this tokenizer.json instead of training one (it must have <|endoftext|>).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Fraction of files (chosen by a hash of their path) held out for validation;
    /// with --by-project, of projects (by a hash of their name). Default 0.05, 0 with --by-project.
    #[arg(long)]
    pub val_fraction: Option<f64>,
    /// Only files whose path starts with this prefix, e.g. `java.base/` (repeatable).
    #[arg(long = "include")]
    pub include_prefixes: Vec<String>,
    /// Drop a leading comment that is a copyright or licence notice.
    #[arg(long)]
    pub strip_license_headers: bool,
    /// Treat INPUT as a directory of projects: stream it, drop generated,
    /// vendored, oversized and (near-)duplicate files, split by project.
    #[arg(long)]
    pub by_project: bool,
    /// With --by-project: fetch_corpus.py's manifest.jsonl; `heldout` projects go to validation.
    #[arg(long, requires = "by_project")]
    pub manifest: Option<PathBuf>,
    /// With --by-project: a directory or zip held out entirely, written to test.bin
    /// (e.g. the JDK's src.zip; its modules are its projects). Repeatable.
    #[arg(long = "test-input", requires = "by_project")]
    pub test_inputs: Vec<PathBuf>,
    /// With --by-project: files larger than this many bytes are dropped.
    #[arg(long, default_value_t = 200_000)]
    pub max_file_bytes: usize,
    /// With --by-project: estimated Jaccard similarity (5-token shingles) at which a file is a near duplicate.
    #[arg(long, default_value_t = 0.8)]
    pub near_dup_threshold: f64,
    /// With --by-project: megabytes of training text the tokenizer is trained on (a sample by path hash).
    #[arg(long, default_value_t = 100)]
    pub tokenizer_sample_mb: usize,
    /// With --by-project: also write each split's text to OUT/text/*.txt (files separated by <|endoftext|>).
    #[arg(long, requires = "by_project")]
    pub export_text: bool,
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// The training configuration (see configs/train/*.toml).
    #[arg(long)]
    pub config: PathBuf,
    /// Continue from the run directory's `last` checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Stop (with a checkpoint, as on Ctrl-C) after this many steps in this
    /// invocation: for time-boxed machines, and to replay a run that was
    /// interrupted at a known step.
    #[arg(long)]
    pub stop_after_steps: Option<usize>,
}

#[derive(clap::Args)]
pub struct PlotLossArgs {
    /// A run directory written by `logitloom train` (holds log.jsonl).
    pub run_dir: PathBuf,
    /// Output image; .png or .svg.
    #[arg(short, long)]
    pub output: PathBuf,
    /// The final fraction of the run judged for whether validation loss still falls.
    #[arg(long, default_value_t = 0.25)]
    pub tail_fraction: f64,
}

pub fn run_prepare(args: PrepareArgs) -> anyhow::Result<()> {
    if args.by_project {
        return run_prepare_projects(args);
    }
    let options = PrepareOptions {
        input: args.input,
        out_dir: args.out.clone(),
        vocab_size: args.vocab_size,
        tokenizer: args.tokenizer,
        val_fraction: args.val_fraction.unwrap_or(0.05),
        corpus: CorpusOptions {
            include_prefixes: args.include_prefixes,
            strip_license_headers: args.strip_license_headers,
        },
        show_progress: true,
    };
    let meta = logitloom_trainer::prepare(&options)?;
    let c = &meta.corpus;
    println!(
        "{} files kept of {} ({} duplicates, {} non-UTF-8 skipped); vocabulary {}; train {} files / {} tokens, val {} files / {} tokens -> {}",
        c.files_kept,
        c.files_seen,
        c.duplicates_removed,
        c.non_utf8_skipped,
        meta.vocab_size,
        meta.train.files,
        meta.train.tokens,
        meta.val.files,
        meta.val.tokens,
        args.out.display()
    );
    Ok(())
}

fn run_prepare_projects(args: PrepareArgs) -> anyhow::Result<()> {
    if !args.include_prefixes.is_empty() {
        anyhow::bail!(
            "--include does not apply with --by-project (a project is a directory; leave out the ones you do not want)"
        );
    }
    let options = ProjectPrepareOptions {
        input: args.input,
        manifest: args.manifest,
        test_inputs: args.test_inputs,
        out_dir: args.out.clone(),
        vocab_size: args.vocab_size,
        tokenizer: args.tokenizer,
        val_fraction: args.val_fraction.unwrap_or(0.0),
        strip_license_headers: args.strip_license_headers,
        max_file_bytes: args.max_file_bytes,
        near_dup_threshold: args.near_dup_threshold,
        tokenizer_sample_bytes: args.tokenizer_sample_mb.saturating_mul(1_000_000),
        export_text: args.export_text,
        show_progress: true,
    };
    let meta = logitloom_trainer::prepare_projects(&options)?;
    let report = meta.dedup.as_ref().expect("by-project metadata has a report");
    println!(
        "{} files seen ({:.0} MB) in {} training, {} validation and {} held-out projects; {} kept ({:.0} MB)",
        report.files_seen,
        report.bytes_seen as f64 / 1e6,
        report.projects[0],
        report.projects[1],
        report.projects[2],
        report.files_kept,
        report.bytes_kept as f64 / 1e6
    );
    for (reason, count) in &report.dropped {
        println!(
            "  dropped {:>8} files {:>8.1} MB  {}",
            count.files,
            count.bytes as f64 / 1e6,
            serde_json::to_string(reason)?.trim_matches('"')
        );
    }
    let split = |name: &str, s: &logitloom_trainer::prepare::SplitMeta| {
        println!(
            "  {name:<5} {:>8} files {:>8.1} MB {:>12} tokens ({:.2} bytes/token)",
            s.files,
            s.bytes as f64 / 1e6,
            s.tokens,
            s.bytes as f64 / s.tokens as f64
        )
    };
    split("train", &meta.train);
    split("val", &meta.val);
    if let Some(test) = &meta.test {
        split("test", test);
    }
    println!(
        "vocabulary {}; every drop with its reason: {}",
        meta.vocab_size,
        args.out.join(logitloom_trainer::projects::DROPS_FILE).display()
    );
    Ok(())
}

pub fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read config {}", args.config.display()))?;
    let config = TrainConfig::parse(&text, &args.config)?;
    let stop = Arc::new(AtomicBool::new(false));
    let handler_flag = Arc::clone(&stop);
    ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            // A second Ctrl-C means "now": the last checkpoint on disk is intact.
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: finishing this step and writing a checkpoint (Ctrl-C again to quit at once)");
    })
    .context("cannot install the Ctrl-C handler")?;
    let mut options = TrainOptions::new(config, args.config, text);
    options.resume = args.resume;
    options.stop_after_steps = args.stop_after_steps;
    options.show_progress = true;
    options.stop = stop;
    let summary = logitloom_trainer::train(&options)?;
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    println!(
        "{} at step {}: last train loss {}, val loss {}, best val loss {}; checkpoints in {}",
        if summary.interrupted { "stopped" } else { "finished" },
        summary.end_step,
        fmt(summary.train_losses.last().copied()),
        fmt(summary.last_val_loss),
        fmt(summary.best_val_loss),
        summary.run_dir.display()
    );
    Ok(())
}

pub fn run_plot_loss(args: PlotLossArgs) -> anyhow::Result<()> {
    let verdict = logitloom_trainer::plot::plot_loss(&args.run_dir, &args.output, args.tail_fraction)?;
    println!("{verdict}");
    Ok(())
}
