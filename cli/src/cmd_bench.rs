//! `logitloom bench`: run a collapse-benchmark suite and write its report.
//! The work is in the `logitloom-bench` crate; this module only turns
//! arguments into a run and reports where the results went.

use std::path::PathBuf;

use anyhow::Context;
use logitloom_bench::engine_generator::EngineGenerator;
use logitloom_bench::{run_suite, RunMeta, RunOptions, Suite};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The suite file (TOML): models, prompts, chains, seeds; see docs/bench.md.
    #[arg(long, value_name = "FILE.toml")]
    pub suite: PathBuf,
    /// Output directory; rerunning with the same directory resumes.
    /// Default: bench-results/<suite name>.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overrides the suite's device ("cpu", "cuda", "cuda:N", "auto").
    #[arg(long)]
    pub device: Option<String>,
    /// Overrides the suite's seeds, e.g. `--seeds 1,2` for a quicker run.
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// Overrides the suite's `max_new_tokens`.
    #[arg(long)]
    pub max_new_tokens: Option<usize>,
    /// Overrides the suite's sequences per batch.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let mut suite = Suite::from_file(&args.suite)?;
    if let Some(device) = args.device {
        suite.device = device;
    }
    if let Some(seeds) = args.seeds {
        anyhow::ensure!(!seeds.is_empty(), "--seeds needs at least one seed");
        suite.seeds = seeds;
    }
    if let Some(max_new_tokens) = args.max_new_tokens {
        anyhow::ensure!(max_new_tokens > 0, "--max-new-tokens must be at least 1");
        suite.max_new_tokens = max_new_tokens;
    }
    if let Some(batch_size) = args.batch_size {
        anyhow::ensure!(batch_size > 0, "--batch-size must be at least 1");
        suite.batch_size = batch_size;
    }
    let out = args.out.unwrap_or_else(|| PathBuf::from("bench-results").join(&suite.name));
    let stop = logitloom_bench::stop_on_ctrl_c().context("cannot install the Ctrl-C handler")?;
    let meta = RunMeta { command: command_line(), git_commit: git_commit() };
    let options = RunOptions { out_dir: out.clone(), show_progress: !args.quiet, stop: Some(stop), meta };
    let mut generator = EngineGenerator::new();
    let summary = run_suite(&suite, &mut generator, &options)?;
    if summary.interrupted {
        eprintln!(
            "interrupted after {} new generations; rerun the same command to resume ({} of {} done)",
            summary.generated,
            summary.resumed + summary.generated + summary.failed,
            summary.total
        );
        return Ok(());
    }
    eprintln!(
        "{} generations ({} resumed, {} new, {} failed); report: {}",
        summary.total,
        summary.resumed,
        summary.generated,
        summary.failed,
        out.join("report.md").display()
    );
    Ok(())
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().collect();
    let program = std::path::Path::new(&args[0])
        .file_name()
        .map_or_else(|| args[0].clone(), |n| n.to_string_lossy().into_owned());
    let quote = |a: &String| if a.contains(char::is_whitespace) { format!("'{a}'") } else { a.clone() };
    std::iter::once(program).chain(args[1..].iter().map(quote)).collect::<Vec<_>>().join(" ")
}

/// The commit of the checkout the binary was built from, marked `-dirty`
/// when its tracked files have changes; `unknown` when that checkout is gone.
fn git_commit() -> String {
    let source = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(source)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(s) if !s.is_empty() => format!("{commit}-dirty"),
            _ => commit,
        },
        None => "unknown".into(),
    }
}
