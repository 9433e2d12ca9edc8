//! The runner with a fake generator: resume after interruption, and failed
//! cases that do not stop the rest of the suite.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use logitloom_bench::record::Outcome;
use logitloom_bench::runner::{load_records, RESULTS_FILE};
use logitloom_bench::{run_suite, BatchRequest, GenerateError, Generated, Generator, RunMeta, RunOptions, Suite};

/// Deterministic continuations that depend on the chain, prompt and seed.
/// A chain config containing `loop = true` degenerates into `.S.S.S...`;
/// `plugin = "no_such_plugin"` fails to load; `fail_seed = N` fails (like a
/// plugin error mid-generation) any batch containing seed N.
#[derive(Default)]
struct FakeGenerator {
    sequences: usize,
    calls: usize,
    /// Raised after this many calls, like Ctrl-C during a run.
    stop_after: Option<(usize, Arc<AtomicBool>)>,
}

impl Generator for FakeGenerator {
    fn generate(&mut self, request: &BatchRequest<'_>) -> Result<Vec<Generated>, GenerateError> {
        self.calls += 1;
        if let Some((after, flag)) = &self.stop_after {
            if self.calls >= *after {
                flag.store(true, Ordering::SeqCst);
            }
        }
        let config: toml::Table = toml::from_str(request.chain_config).map_err(|e| GenerateError(e.to_string()))?;
        if request.chain_config.contains("no_such_plugin") {
            return Err(GenerateError("chain stage 1: unknown plugin `no_such_plugin`".into()));
        }
        if let Some(bad) = config.get("fail_seed").and_then(|v| v.as_integer()) {
            if request.seeds.contains(&(bad as u64)) {
                return Err(GenerateError(format!("plugin `flaky` failed at step 3 (seed {bad})")));
            }
        }
        let looping = config.get("loop").and_then(|v| v.as_bool()) == Some(true);
        self.sequences += request.prompts.len();
        Ok(request
            .seeds
            .iter()
            .map(|&seed| {
                let text = if looping {
                    format!("        count += {seed};\n{}", ".S".repeat(15))
                } else {
                    format!("        count += {seed};\n        return count;\n    }}\n}}\n")
                };
                let tokens: Vec<u32> = text.chars().map(|c| c as u32).collect();
                let token_ends = text.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
                let entropy =
                    (0..tokens.len()).map(|i| if i == 20 { 6.0 } else { 1.0 + (i % 3) as f32 * 0.1 }).collect();
                Generated {
                    tokens,
                    text,
                    token_ends,
                    entropy,
                    finish: "eos".into(),
                    prefill_seconds: 0.01,
                    decode_seconds: 0.1,
                    stage_seconds: BTreeMap::from([("top_k".to_string(), 0.002), ("multinomial".to_string(), 0.001)]),
                    rewinds: 0,
                    discarded: 0,
                    rollback_seconds: 0.0,
                }
            })
            .collect())
    }
}

const PROMPT: &str = "public class Counter {\n    int count;\n    int next() {\n";

fn suite_dir(chains: &str, prompts: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for name in ["counter_a", "counter_b"] {
        std::fs::create_dir_all(dir.path().join("prompts")).unwrap();
        std::fs::write(dir.path().join("prompts").join(format!("{name}.java")), PROMPT).unwrap();
    }
    let suite = format!(
        "name = \"fake\"\nmodels = [\"models/fake\"]\nprompts = [{prompts}]\nseeds = [1, 2, 3]\nmax_new_tokens = 64\nbatch_size = 2\n{chains}"
    );
    let path = dir.path().join("suite.toml");
    std::fs::write(&path, suite).unwrap();
    (dir, path)
}

fn options(out: &Path, stop: Option<Arc<AtomicBool>>) -> RunOptions {
    RunOptions {
        out_dir: out.to_path_buf(),
        show_progress: false,
        stop,
        meta: RunMeta { command: "logitloom bench --suite suite.toml".into(), git_commit: "test".into() },
    }
}

const CHAINS: &str = "[[chains]]\nname = \"plain\"\n[[chains.stage]]\nplugin = \"top_k\"\nk = 40\n\
[[chains]]\nname = \"loopy\"\nloop = true\n[[chains.stage]]\nplugin = \"top_k\"\nk = 200\n";

#[test]
fn resumed_run_matches_uninterrupted_run() {
    let (dir, path) = suite_dir(CHAINS, "\"prompts\"");
    let suite = Suite::from_file(&path).unwrap();

    let straight = dir.path().join("straight");
    let mut fake = FakeGenerator::default();
    let summary = run_suite(&suite, &mut fake, &options(&straight, None)).unwrap();
    assert_eq!((summary.total, summary.generated, summary.failed, summary.interrupted), (12, 12, 0, false));

    // Interrupt after two batches (4 sequences)...
    let resumed = dir.path().join("resumed");
    let stop = Arc::new(AtomicBool::new(false));
    let mut fake = FakeGenerator { stop_after: Some((2, stop.clone())), ..Default::default() };
    let summary = run_suite(&suite, &mut fake, &options(&resumed, Some(stop))).unwrap();
    assert!(summary.interrupted);
    assert_eq!(summary.generated, 4);
    assert_eq!(load_records(&resumed.join(RESULTS_FILE)).unwrap().len(), 4);
    assert!(!resumed.join("report.md").exists(), "an interrupted run writes no report");

    // ...and cut the last record in half, as a kill during a write would.
    let results = resumed.join(RESULTS_FILE);
    let text = std::fs::read_to_string(&results).unwrap();
    let cut = text.trim_end().rfind('\n').unwrap() + 40;
    std::fs::write(&results, &text[..cut]).unwrap();

    let mut fake = FakeGenerator::default();
    let summary = run_suite(&suite, &mut fake, &options(&resumed, None)).unwrap();
    assert_eq!((summary.resumed, summary.generated), (3, 9));
    assert_eq!(fake.sequences, 9, "only the unfinished work is generated again");
    assert_eq!(
        std::fs::read_to_string(&results).unwrap(),
        std::fs::read_to_string(straight.join(RESULTS_FILE)).unwrap()
    );

    // A third run has nothing left to do.
    let mut fake = FakeGenerator::default();
    let summary = run_suite(&suite, &mut fake, &options(&resumed, None)).unwrap();
    assert_eq!((summary.resumed, fake.calls), (12, 0));
}

#[test]
fn measures_and_reports_the_grid() {
    let (dir, path) = suite_dir(CHAINS, "\"prompts\"");
    let suite = Suite::from_file(&path).unwrap();
    let out = dir.path().join("out");
    run_suite(&suite, &mut FakeGenerator::default(), &options(&out, None)).unwrap();
    let records = load_records(&out.join(RESULTS_FILE)).unwrap();
    let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        &keys[..4],
        ["fake/plain/counter_a/1", "fake/plain/counter_a/2", "fake/plain/counter_a/3", "fake/plain/counter_b/1"]
    );
    for r in &records {
        let m = r.measured().expect("every fake generation succeeds");
        if r.chain == "plain" {
            assert_eq!(m.metrics.tail_loop, None);
            assert!(m.java.parses && m.java.compiles == Some(true), "{}: {:?}", r.key, m.java);
        } else {
            let tail = m.metrics.tail_loop.expect("the loopy chain collapses");
            assert_eq!((tail.period, tail.repeats), (2, 15));
            assert_eq!(tail.start, "        count += 1;\n".len());
            assert_eq!(m.java.compiles, Some(false));
            assert!(!m.java.parses);
        }
        assert_eq!(m.metrics.entropy_spike_at, Some(20));
        assert!((m.tokens_per_second - m.generated.tokens.len() as f64 / 0.11).abs() < 1e-9);
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("`logitloom bench --suite suite.toml`"));
    // Collapsed: plain 0% (best), loopy 100%.
    let plain_row = report.lines().find(|l| l.starts_with("| plain | 6 |")).expect("headline row for plain");
    assert!(plain_row.contains("**0%**"), "{plain_row}");
    for stem in ["entropy-fake", "rates-fake", "onset-fake"] {
        assert!(std::fs::metadata(out.join(format!("{stem}.png"))).unwrap().len() > 1000);
        assert!(std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap().starts_with("<svg"));
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 3);
}

#[test]
fn failed_cases_are_reported_and_the_rest_runs() {
    let chains = format!(
        "{CHAINS}[[chains]]\nname = \"broken\"\n[[chains.stage]]\nplugin = \"no_such_plugin\"\n\
[[chains]]\nname = \"flaky\"\nfail_seed = 2\n[[chains.stage]]\nplugin = \"top_k\"\nk = 10\n\
[[chains]]\nname = \"from_missing_file\"\nfile = \"chains/absent.toml\"\n"
    );
    let (dir, path) = suite_dir(&chains, "\"prompts/counter_a.java\", \"prompts/gone.java\"");
    let suite = Suite::from_file(&path).unwrap();
    let out = dir.path().join("out");
    let summary = run_suite(&suite, &mut FakeGenerator::default(), &options(&out, None)).unwrap();
    // 5 chains x 2 prompts x 3 seeds; ok: plain 3 + loopy 3 + flaky 2.
    assert_eq!((summary.total, summary.generated, summary.failed), (30, 8, 22));
    let records = load_records(&out.join(RESULTS_FILE)).unwrap();
    let reason = |key: &str| match &records.iter().find(|r| r.key == key).unwrap().outcome {
        Outcome::Failed { error } => error.clone(),
        Outcome::Ok(_) => "ok".into(),
    };
    assert!(
        reason("fake/plain/gone/1").contains("cannot read prompt file")
            && reason("fake/plain/gone/1").contains("gone.java")
    );
    assert_eq!(reason("fake/broken/counter_a/3"), "chain stage 1: unknown plugin `no_such_plugin`");
    assert_eq!(reason("fake/flaky/counter_a/1"), "ok");
    assert_eq!(reason("fake/flaky/counter_a/2"), "plugin `flaky` failed at step 3 (seed 2)");
    assert_eq!(reason("fake/flaky/counter_a/3"), "ok");
    assert!(reason("fake/from_missing_file/counter_a/1").contains("absent.toml"));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("- `broken`, 3 generation(s) (fake/broken/counter_a/1, fake/broken/counter_a/2, fake/broken/counter_a/3): chain stage 1: unknown plugin `no_such_plugin`"),
        "{report}"
    );
    assert!(report
        .contains("- `flaky`, 1 generation(s) (fake/flaky/counter_a/2): plugin `flaky` failed at step 3 (seed 2)"));
}

#[test]
fn a_results_line_cut_inside_a_utf8_character_costs_only_that_line() {
    let (dir, path) = suite_dir(CHAINS, "\"prompts\"");
    let suite = Suite::from_file(&path).unwrap();
    let out = dir.path().join("out");
    run_suite(&suite, &mut FakeGenerator::default(), &options(&out, None)).unwrap();
    let results = out.join(RESULTS_FILE);
    let complete = std::fs::read(&results).unwrap();
    // A SIGKILL during the write of a line holding `é` (0xc3 0xa9), cut between its bytes.
    let mut torn = complete.clone();
    torn.extend_from_slice(b"{\"key\": \"caf\xc3");
    std::fs::write(&results, &torn).unwrap();
    assert_eq!(load_records(&results).unwrap().len(), 12);
    assert_eq!(std::fs::read(&results).unwrap(), complete, "the complete lines are kept byte for byte");
}

#[test]
fn resumed_records_keep_their_floats_exactly() {
    // A value from a hard-kill run (bench/scripts/kill_resume.sh) that
    // serde_json's default parser reads 1 ULP off, so a resumed results
    // file differed from an uninterrupted one in its last digit.
    for text in ["0.09523809523809523", "0.9056177474558353", "9.090909090909093"] {
        let value: f64 = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&value).unwrap(), text);
    }
}
