//! Helpers for the end-to-end tests in `tests/tests/`: they run the real
//! `logitloom` binary the way a user would and read its stdout/stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the repo").to_path_buf()
}

/// `target/debug/logitloom` (or under `$CARGO_TARGET_DIR`).
pub fn logitloom_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("target"));
    let bin = target.join("debug").join("logitloom");
    assert!(bin.exists(), "{} is missing: build it with `./dev.sh cargo build -p logitloom-cli`", bin.display());
    bin
}

/// A small random GPT-2 with a real tokenizer, made by engine/scripts/make_golden.py.
pub fn tiny_model() -> PathBuf {
    repo().join("engine/tests/golden/tiny-gpt2")
}

pub fn run(args: &[&str]) -> Output {
    Command::new(logitloom_bin()).args(args).env("RUST_BACKTRACE", "1").output().expect("logitloom runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Bad input must end in exactly one line on stderr, a failure exit code,
/// and no panic or backtrace; returns that line.
pub fn assert_clean_failure(o: &Output) -> String {
    let err = stderr(o);
    assert!(!o.status.success(), "expected failure, got success; stderr: {err}");
    assert!(!err.contains("panicked") && !err.contains("stack backtrace"), "panicked: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("note:")).collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {err}");
    lines[0].to_string()
}
