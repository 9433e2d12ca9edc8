//! `logitloom prepare|train|plot-loss`: thin wrappers over `logitloom-trainer`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use logitloom_trainer::corpus::CorpusOptions;
use logitloom_trainer::{PrepareOptions, TrainConfig, TrainOptions};

#[derive(clap::Args)]
pub struct PrepareArgs {
    /// A directory of .java files or a zip of them (e.g. /usr/lib/jvm/openjdk-17/lib/src.zip).
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
    /// Fraction of files (chosen by a hash of their path) held out for validation.
    #[arg(long, default_value_t = 0.05)]
    pub val_fraction: f64,
    /// Only files whose path starts with this prefix, e.g. `java.base/` (repeatable).
    #[arg(long = "include")]
    pub include_prefixes: Vec<String>,
    /// Drop a leading comment that is a copyright or licence notice.
    #[arg(long)]
    pub strip_license_headers: bool,
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
    let options = PrepareOptions {
        input: args.input,
        out_dir: args.out.clone(),
        vocab_size: args.vocab_size,
        tokenizer: args.tokenizer,
        val_fraction: args.val_fraction,
        corpus: CorpusOptions { include_prefixes: args.include_prefixes, strip_license_headers: args.strip_license_headers },
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

pub fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("cannot read config {}", args.config.display()))?;
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
