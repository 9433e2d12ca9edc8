//! `score`, `generate` and `bench` on prompt files that are not UTF-8,
//! empty, or 10 MB: a clear one-line error or the right result, never a
//! panic. Runs the real binary on the shipped model.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn logitloom(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_logitloom"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("runs the logitloom binary")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_clean_failure(out: &Output, expected: &[&str]) {
    let err = stderr(out);
    assert!(!out.status.success(), "should fail: {err}");
    assert!(!err.contains("panicked"), "panicked: {err}");
    for e in expected {
        assert!(err.contains(e), "expected {e:?} in: {err}");
    }
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("latin1.java"), b"class Caf\xe9 { int x = 1; }\n").unwrap();
        std::fs::write(dir.path().join("empty.java"), b"").unwrap();
        let unit = "public class Big {\n    int f(int x) { return x * 2 + 1; }\n}\n";
        std::fs::write(dir.path().join("big.java"), unit.repeat((10 << 20) / unit.len() + 1)).unwrap();
        Files { dir }
    }
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

#[test]
fn score_refuses_bad_files_clearly() {
    let files = Files::new();
    let latin1 = files.path("latin1.java");
    assert_clean_failure(
        &logitloom(&["score", "--device", "cpu", "--text-file", &latin1]),
        &["cannot read", "latin1.java", "UTF-8"],
    );
    assert_clean_failure(
        &logitloom(&["score", "--device", "cpu", "--text-file", &files.path("empty.java")]),
        &["needs at least two tokens", "has 0"],
    );
    assert_clean_failure(
        &logitloom(&["score", "--device", "cpu", "--text-file", &files.path("big.java")]),
        &["big.java", "more than --max-tokens 100000"],
    );
}

#[test]
fn generate_handles_bad_prompt_files() {
    let files = Files::new();
    let base = ["generate", "--device", "cpu", "--max-new-tokens", "3", "--temperature", "0"];
    let run = |file: &str| logitloom(&[&base[..], &["--prompt-file", file]].concat());
    assert_clean_failure(&run(&files.path("latin1.java")), &["cannot read prompt file", "latin1.java", "UTF-8"]);
    // GPT-2 convention: an empty prompt starts from end-of-text and generates.
    let empty = run(&files.path("empty.java"));
    assert!(empty.status.success(), "{}", stderr(&empty));
    assert!(stderr(&empty).contains("decode: "), "{}", stderr(&empty));
    assert_clean_failure(&run(&files.path("big.java")), &["tokens, but the model's context holds 512"]);
}

#[test]
fn bench_reports_bad_prompt_files_as_failed_generations() {
    let files = Files::new();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default");
    let suite = files.dir.path().join("suite.toml");
    std::fs::write(
        &suite,
        format!(
            "name = \"bad_prompts\"\nmodels = [{:?}]\nprompts = [\"latin1.java\", \"empty.java\", \"big.java\"]\nseeds = [1]\nmax_new_tokens = 3\n\n[[chains]]\nname = \"greedy\"\n[[chains.stage]]\nplugin = \"greedy\"\n",
            model.display().to_string()
        ),
    )
    .unwrap();
    let out: PathBuf = files.dir.path().join("out");
    let run =
        logitloom(&["bench", "--quiet", "--suite", &suite.display().to_string(), "--out", &out.display().to_string()]);
    let err = stderr(&run);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("3 generations (0 resumed, 0 new, 3 failed)"), "{err}");
    let results = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let reason = |id: &str| -> String {
        let line = results
            .lines()
            .find(|l| l.contains(&format!("/{id}/")))
            .unwrap_or_else(|| panic!("no record for {id}: {results}"));
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        v.to_string()
    };
    assert!(
        reason("latin1").contains("cannot read prompt file") && reason("latin1").contains("UTF-8"),
        "{}",
        reason("latin1")
    );
    assert!(reason("empty").contains("is empty"), "{}", reason("empty"));
    assert!(reason("big").contains("the model's context holds 512"), "{}", reason("big"));
}
