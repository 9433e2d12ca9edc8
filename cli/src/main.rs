//! `logitloom`: the command-line front end.
//!
//! Each area owns one module (`cmd_*.rs`) with its clap arguments and a
//! `run` function; this file only dispatches and turns errors into one line
//! on stderr with a non-zero exit, never a panic or a backtrace.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd_bench;
mod cmd_generate;
mod cmd_plugins;
mod cmd_serve;
mod cmd_trace;
mod cmd_train;

#[derive(Parser)]
#[command(name = "logitloom", version, about = "GPT-2 code models with pluggable logit processors")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a continuation, streamed to stdout as it is produced.
    Generate(cmd_generate::GenerateArgs),
    /// Per-token log-probability and entropy of a text under the model (JSON lines).
    Score(cmd_generate::ScoreArgs),
    /// List or check logit-processor plugins.
    #[command(subcommand)]
    Plugins(cmd_plugins::PluginsCommand),
    /// Plot entropy against position from a `generate --trace` file.
    PlotEntropy(cmd_trace::PlotEntropyArgs),
    /// Prepare a Java corpus: split, dedupe, train a tokenizer, write token files.
    Prepare(cmd_train::PrepareArgs),
    /// Train a GPT-2 model from a TOML config.
    Train(cmd_train::TrainArgs),
    /// Plot train and validation loss of a training run.
    PlotLoss(cmd_train::PlotLossArgs),
    /// Run a collapse benchmark suite.
    Bench(cmd_bench::BenchArgs),
    /// Serve OpenAI-style completions; each request may choose its chain.
    Serve(cmd_serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate(args) => cmd_generate::run_generate(args),
        Command::Score(args) => cmd_generate::run_score(args),
        Command::Plugins(cmd) => cmd_plugins::run(cmd),
        Command::PlotEntropy(args) => cmd_trace::run(args),
        Command::Prepare(args) => cmd_train::run_prepare(args),
        Command::Train(args) => cmd_train::run_train(args),
        Command::PlotLoss(args) => cmd_train::run_plot_loss(args),
        Command::Bench(args) => cmd_bench::run(args),
        Command::Serve(args) => cmd_serve::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` joins the context chain on one line.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
