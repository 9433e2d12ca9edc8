//! `logitloom plot-entropy`: entropy against position from a
//! `generate --trace` file (the records of an `entropy_logger` stage).
//!
//! The reading, spike detection and drawing live in `logitloom-plot`; this
//! module is only the command line.

use std::path::PathBuf;

use anyhow::ensure;
use logitloom_plot::entropy::{token_label, EntropyFigure};
use logitloom_plot::spikes::SpikeRule;
use logitloom_plot::{style, trace};

#[derive(clap::Args)]
pub struct PlotEntropyArgs {
    /// Trace written by `generate --trace` (one JSON object per line).
    pub trace: PathBuf,
    /// Output image: .png or .svg.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Flag entropy above this many nats, instead of judging each token
    /// against the sequence's running level.
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Running rule: standard deviations above the running mean.
    #[arg(long, default_value_t = 2.5)]
    pub k: f64,
    /// Running rule: how many preceding tokens make the running level.
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// Running rule: the least rise (nats) that counts, however flat the level.
    #[arg(long, default_value_t = 1.0)]
    pub min_rise: f64,
    /// Label this many of the biggest spikes with their token.
    #[arg(long, default_value_t = 8)]
    pub annotate: usize,
    /// Figure title (default: "Entropy per token: <trace file name>").
    #[arg(long)]
    pub title: Option<String>,
}

pub fn run(args: PlotEntropyArgs) -> anyhow::Result<()> {
    let rule = match args.threshold {
        Some(threshold) => {
            ensure!(
                threshold.is_finite() && threshold >= 0.0,
                "--threshold must be a non-negative number of nats, got {threshold}"
            );
            SpikeRule::Absolute { threshold }
        }
        None => {
            ensure!(args.k.is_finite() && args.k >= 0.0, "--k must be a non-negative number, got {}", args.k);
            ensure!(args.window >= 1, "--window must be at least 1");
            ensure!(
                args.min_rise.is_finite() && args.min_rise >= 0.0,
                "--min-rise must be a non-negative number of nats, got {}",
                args.min_rise
            );
            SpikeRule::Relative { k: args.k, window: args.window, warmup: args.window.min(8), min_rise: args.min_rise }
        }
    };
    let sequences = trace::read(&args.trace)?;
    let name =
        args.trace.file_name().map_or_else(|| args.trace.display().to_string(), |n| n.to_string_lossy().into_owned());
    let title = args.title.unwrap_or_else(|| format!("Entropy per token: {name}"));
    let figure = EntropyFigure::new(title, sequences, rule, args.annotate);
    style::save(&figure, &args.output)?;

    // The spikes as text too, for terminals and scripts.
    for (i, spike) in figure.spikes() {
        let seq = &figure.sequences()[i];
        let point = &seq.points[spike.index];
        println!("seq {}\tpos {}\tentropy {:.3}\ttoken {}", seq.seq, point.pos, point.after, token_label(&point.text));
    }
    let tokens: usize = figure.sequences().iter().map(|s| s.points.len()).sum();
    eprintln!(
        "wrote {} ({} sequence(s), {tokens} tokens, {} spike(s))",
        args.output.display(),
        figure.sequences().len(),
        figure.spikes().count()
    );
    Ok(())
}
