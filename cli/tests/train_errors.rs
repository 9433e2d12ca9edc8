//! Bad input to `prepare` and `train` through the real binary: one line on
//! stderr, non-zero exit, no panic. Cargo builds the binary for this test
//! (`CARGO_BIN_EXE_logitloom`), so it is never a stale or missing one.

use std::path::{Path, PathBuf};
use std::process::Command;

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_logitloom"))
}

/// The trainer's checked-in test corpus, prepared by the binary itself with
/// a 512-token BPE.
fn prepare_corpus(binary: &Path, out: &Path) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../trainer/tests/data/java-corpus");
    let output = Command::new(binary)
        .args(["prepare", "--vocab-size", "512", "--val-fraction", "0.15", "--strip-license-headers"])
        .arg(&corpus)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(output.status.success(), "prepare failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// Runs the binary; returns (exit code, stderr lines).
fn run(binary: &Path, args: &[&str]) -> (i32, Vec<String>) {
    let output = Command::new(binary).args(args).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    (output.status.code().unwrap_or(-1), stderr.lines().map(str::to_owned).collect())
}

#[test]
fn bad_input_gives_one_line_and_a_failure_exit() {
    let binary = binary();
    let dir = tempfile::tempdir().unwrap();

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = dir.path().join("out");
    let (code, lines) = run(&binary, &["prepare", empty.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [format!("error: corpus {}: no usable .java files (found 0 unreadable or non-UTF-8 ones)", empty.display())]
    );

    let data = dir.path().join("data");
    prepare_corpus(&binary, &data);
    let config = dir.path().join("bad.toml");
    let text = format!(
        "[data]\ndir = \"{}\"\n[model]\npreset = \"tiny\"\n[train]\nmax_steps = 200\nlr = 0.1\n[out]\ndir = \"{}\"\n",
        data.display(),
        dir.path().join("run").display()
    );
    std::fs::write(&config, &text).unwrap();
    let (code, lines) = run(&binary, &["train", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0]
            .starts_with(&format!("error: config {}: line 7, key `train.lr`: unknown field `lr`", config.display())),
        "{lines:?}"
    );

    // A damaged token file is named, not trained on.
    let good = text.replace("lr = 0.1\n", "device = \"cpu\"\n");
    std::fs::write(&config, good).unwrap();
    let train_bin = data.join("train.bin");
    let bytes = std::fs::read(&train_bin).unwrap();
    std::fs::write(&train_bin, &bytes[..bytes.len() - 3]).unwrap();
    let (code, lines) = run(&binary, &["train", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("error: token file {}: truncated or padded", train_bin.display())),
        "{lines:?}"
    );
}
