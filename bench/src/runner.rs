//! Running a suite: the grid, batching, resume, failures, javac, report.
//!
//! The model sits behind the [`Generator`] trait so that everything else —
//! resume, failure handling, metrics, report — is tested with a fast fake
//! and the real engine is one small adapter (`engine_generator`).
//!
//! Resume works from `results.jsonl` alone: each finished generation is
//! appended and flushed as soon as its batch returns, keyed by job and a
//! fingerprint of everything that determines it. A rerun skips jobs with a
//! successful record of the same fingerprint and redoes failed and changed
//! ones. A line cut off by a kill is dropped. At the end the file is
//! rewritten, atomically, in grid order with the javac verdicts filled in, so
//! an interrupted-then-resumed run ends with the same file as one that ran
//! straight through.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::BenchError;
use crate::java::{close_source, compile_batch, JavaSyntax};
use crate::metrics::{self, MetricRules};
use crate::record::{Generated, JavaChecks, Measured, Outcome, Record};
use crate::report::{self, RunMeta};
use crate::suite::{ChainEntry, ChainSource, Job, ModelEntry, Suite};

/// Why a generator could not produce a batch; becomes the failure reason of
/// each job in it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GenerateError(pub String);

/// One batch: a model and a chain, several prompts with a seed each.
pub struct BatchRequest<'a> {
    pub model: &'a ModelEntry,
    pub chain: &'a ChainEntry,
    /// The chain's configuration text (inline table or file contents).
    pub chain_config: &'a str,
    /// What to call the chain config in errors (file, or suite and chain).
    pub chain_origin: &'a str,
    /// Where relative plugin paths in the chain config are resolved.
    pub chain_base_dir: &'a Path,
    pub prompts: Vec<&'a str>,
    pub seeds: Vec<u64>,
    pub max_new_tokens: usize,
    pub device: &'a str,
}

/// Produces continuations. Implementations cache loaded models and chains
/// between calls; an `Err` fails the batch (the runner then retries its
/// jobs one by one, so one bad sequence does not sink the others).
pub trait Generator {
    fn generate(&mut self, request: &BatchRequest<'_>) -> Result<Vec<Generated>, GenerateError>;
}

pub struct RunOptions {
    pub out_dir: PathBuf,
    pub show_progress: bool,
    /// Set (e.g. by a Ctrl-C handler) to stop after the current batch.
    pub stop: Option<Arc<AtomicBool>>,
    pub meta: RunMeta,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSummary {
    pub total: usize,
    /// Jobs skipped because an earlier run finished them.
    pub resumed: usize,
    pub generated: usize,
    pub failed: usize,
    /// Stopped early; rerun to finish.
    pub interrupted: bool,
}

pub const RESULTS_FILE: &str = "results.jsonl";

pub fn run_suite(suite: &Suite, generator: &mut dyn Generator, options: &RunOptions) -> Result<RunSummary, BenchError> {
    let out = &options.out_dir;
    std::fs::create_dir_all(out).map_err(|source| BenchError::Write { path: out.clone(), cause: source })?;
    let results_path = out.join(RESULTS_FILE);
    let mut records: HashMap<String, Record> = HashMap::new();
    for record in load_records(&results_path)? {
        records.insert(record.key.clone(), record);
    }
    let jobs = suite.jobs();
    let pending: Vec<Job> = jobs
        .iter()
        .copied()
        .filter(|job| {
            let done = records.get(&suite.job_key(job));
            !done.is_some_and(|r| r.fingerprint == suite.job_fingerprint(job) && r.measured().is_some())
        })
        .collect();
    let mut summary = RunSummary {
        total: jobs.len(),
        resumed: jobs.len() - pending.len(),
        generated: 0,
        failed: 0,
        interrupted: false,
    };

    let bar = progress_bar(options.show_progress, jobs.len() as u64, summary.resumed as u64);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&results_path)
        .map_err(|source| BenchError::Write { path: results_path.clone(), cause: source })?;
    let mut syntax = JavaSyntax::new();
    for batch in batches(suite, &pending) {
        if options.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
            summary.interrupted = true;
            break;
        }
        let first = batch[0];
        bar.set_message(format!("{} / {}", suite.models[first.model].name, suite.chains[first.chain].name));
        for (job, outcome) in run_batch(suite, generator, &batch, &mut syntax) {
            match &outcome {
                Outcome::Ok(_) => summary.generated += 1,
                Outcome::Failed { .. } => summary.failed += 1,
            }
            let record = new_record(suite, &job, outcome);
            append_record(&mut file, &record)
                .map_err(|source| BenchError::Write { path: results_path.clone(), cause: source })?;
            records.insert(record.key.clone(), record);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    if summary.interrupted {
        return Ok(summary);
    }

    let mut ordered: Vec<Record> = jobs.iter().filter_map(|job| records.remove(&suite.job_key(job))).collect();
    compile_pending(suite, &mut ordered, out, options.show_progress)?;
    let text: String = ordered.iter().map(|r| serde_json::to_string(r).expect("records serialise") + "\n").collect();
    rewrite_records(&results_path, text.as_bytes())?;
    report::write_report(suite, &ordered, &options.meta, out)?;
    Ok(summary)
}

fn progress_bar(show: bool, total: u64, done: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} generations, ETA {eta}  {msg}")
            .expect("the template is valid"),
    );
    bar.set_position(done);
    // The ETA should reflect this run's speed, not count resumed work as instant.
    bar.reset_eta();
    bar
}

/// Consecutive pending jobs with the same model and chain, at most
/// `batch_size` at a time.
fn batches(suite: &Suite, pending: &[Job]) -> Vec<Vec<Job>> {
    let mut out: Vec<Vec<Job>> = Vec::new();
    for &job in pending {
        match out.last_mut() {
            Some(b) if b.len() < suite.batch_size && b[0].model == job.model && b[0].chain == job.chain => b.push(job),
            _ => out.push(vec![job]),
        }
    }
    out
}

fn run_batch(
    suite: &Suite,
    generator: &mut dyn Generator,
    batch: &[Job],
    syntax: &mut JavaSyntax,
) -> Vec<(Job, Outcome)> {
    let mut results = Vec::new();
    let chain = &suite.chains[batch[0].chain];
    let chain_config = match chain.config_text() {
        Ok(text) => text,
        Err(error) => return batch.iter().map(|&j| (j, Outcome::Failed { error: error.clone() })).collect(),
    };
    let mut runnable = Vec::new();
    for &job in batch {
        match &suite.prompts[job.prompt].text {
            Ok(_) => runnable.push(job),
            Err(error) => results.push((job, Outcome::Failed { error: error.clone() })),
        }
    }
    let (chain_origin, chain_base_dir) = chain_location(suite, chain);
    let attempt = |generator: &mut dyn Generator, jobs: &[Job]| {
        let request = BatchRequest {
            model: &suite.models[jobs[0].model],
            chain,
            chain_config: &chain_config,
            chain_origin: &chain_origin,
            chain_base_dir: &chain_base_dir,
            prompts: jobs
                .iter()
                .map(|j| suite.prompts[j.prompt].text.as_deref().expect("only readable prompts run"))
                .collect(),
            seeds: jobs.iter().map(|j| j.seed).collect(),
            max_new_tokens: suite.max_new_tokens,
            device: &suite.device,
        };
        match generator.generate(&request) {
            Ok(out) if out.len() == jobs.len() => Ok(out),
            Ok(out) => {
                Err(GenerateError(format!("generator returned {} sequences for {} prompts", out.len(), jobs.len())))
            }
            Err(e) => Err(e),
        }
    };
    if runnable.is_empty() {
        return results;
    }
    let outputs: Vec<Result<Generated, String>> = match attempt(generator, &runnable) {
        Ok(out) => out.into_iter().map(Ok).collect(),
        Err(e) if runnable.len() == 1 => vec![Err(e.0)],
        Err(_) => runnable
            .iter()
            .map(|job| attempt(generator, std::slice::from_ref(job)).map(|mut v| v.remove(0)).map_err(|e| e.0))
            .collect(),
    };
    for (job, output) in runnable.into_iter().zip(outputs) {
        let outcome = match output {
            Ok(generated) => {
                let prompt = suite.prompts[job.prompt].text.as_deref().expect("only readable prompts run");
                Outcome::Ok(Box::new(measure_generation(prompt, generated, &suite.rules, syntax)))
            }
            Err(error) => Outcome::Failed { error },
        };
        results.push((job, outcome));
    }
    results
}

fn chain_location(suite: &Suite, chain: &ChainEntry) -> (String, PathBuf) {
    let suite_dir = suite.path.parent().unwrap_or(Path::new(".")).to_path_buf();
    match &chain.source {
        ChainSource::File(path) => (path.display().to_string(), path.parent().map_or(suite_dir, Path::to_path_buf)),
        ChainSource::Inline(_) => (format!("{}, chain `{}`", suite.path.display(), chain.name), suite_dir),
    }
}

/// Every measure except compilation, which runs once for the whole suite.
pub fn measure_generation(
    prompt: &str,
    generated: Generated,
    rules: &MetricRules,
    syntax: &mut JavaSyntax,
) -> Measured {
    let metrics = metrics::measure(&generated.tokens, &generated.text, &generated.entropy, rules);
    let closed = close_source(prompt, &generated.text, metrics.tail_loop.is_some());
    let report = syntax.check(&closed.text);
    let first_error_token = report.first_error_byte.map(|b| generated.token_at_byte(b.saturating_sub(prompt.len())));
    let seconds = generated.prefill_seconds + generated.decode_seconds;
    let tokens_per_second = if seconds > 0.0 { generated.tokens.len() as f64 / seconds } else { 0.0 };
    Measured {
        metrics,
        java: JavaChecks {
            parses: report.first_error_byte.is_none(),
            first_error_token,
            bare_return_in_non_void: report.bare_return_in_non_void,
            dropped_bytes: closed.dropped,
            appended: closed.appended,
            compiles: None,
            compile_error: None,
        },
        tokens_per_second,
        generated,
    }
}

fn new_record(suite: &Suite, job: &Job, outcome: Outcome) -> Record {
    Record {
        key: suite.job_key(job),
        fingerprint: suite.job_fingerprint(job),
        model: suite.models[job.model].name.clone(),
        chain: suite.chains[job.chain].name.clone(),
        prompt: suite.prompts[job.prompt].id.clone(),
        seed: job.seed,
        outcome,
    }
}

/// Compiles every successful generation that has no javac verdict yet, in
/// one javac run.
fn compile_pending(suite: &Suite, records: &mut [Record], out: &Path, show_progress: bool) -> Result<(), BenchError> {
    let prompt_text: HashMap<&str, &str> =
        suite.prompts.iter().filter_map(|p| p.text.as_deref().ok().map(|t| (p.id.as_str(), t))).collect();
    let mut targets = Vec::new();
    let mut sources = Vec::new();
    for (i, record) in records.iter().enumerate() {
        if let (Outcome::Ok(m), Some(prompt)) = (&record.outcome, prompt_text.get(record.prompt.as_str())) {
            if m.java.compiles.is_none() {
                targets.push(i);
                sources.push(close_source(prompt, &m.generated.text, m.metrics.tail_loop.is_some()).text);
            }
        }
    }
    if targets.is_empty() {
        return Ok(());
    }
    let spinner = if show_progress { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
    spinner.set_message(format!("compiling {} generations with one javac run", sources.len()));
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
    let work_dir = out.join("javac");
    let outcomes = compile_batch(&refs, &work_dir)?;
    // The sources are reproducible from results.jsonl; only the verdicts are kept.
    let _ = std::fs::remove_dir_all(&work_dir);
    spinner.finish_and_clear();
    for (i, outcome) in targets.into_iter().zip(outcomes) {
        if let Outcome::Ok(m) = &mut records[i].outcome {
            m.java.compiles = Some(outcome.compiles);
            m.java.compile_error = outcome.first_error;
        }
    }
    Ok(())
}

fn append_record(file: &mut std::fs::File, record: &Record) -> std::io::Result<()> {
    let mut line = serde_json::to_string(record).expect("records serialise");
    line.push('\n');
    file.write_all(line.as_bytes())?;
    file.flush()
}

/// Reads earlier results, skipping a line cut short by an interruption
/// (and any other line that does not parse) and truncating the file to its
/// complete lines so appends start on a fresh line.
pub fn load_records(path: &Path) -> Result<Vec<Record>, BenchError> {
    // Bytes, not text: a SIGKILL can cut the last line inside a UTF-8
    // character, and that must cost that line only.
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(BenchError::Read { path: path.to_path_buf(), cause: source }),
    };
    let mut records = Vec::new();
    let mut kept = Vec::with_capacity(bytes.len());
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if let Ok(record) = serde_json::from_slice::<Record>(line) {
            records.push(record);
            kept.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                kept.push(b'\n');
            }
        }
    }
    if kept != bytes {
        // The lines kept are the bytes written (re-serialising parsed floats
        // could change their last digits).
        rewrite_records(path, &kept)?;
    }
    Ok(records)
}

fn rewrite_records(path: &Path, text: &[u8]) -> Result<(), BenchError> {
    let tmp = path.with_extension("jsonl.tmp");
    let err = |source| BenchError::Write { path: path.to_path_buf(), cause: source };
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}
