//! Compiling many generations with ONE javac run.
//!
//! Starting a JVM per file costs about a second; one run over 200 files takes
//! a few seconds. Each source goes into its own directory and package
//! (`package g17;` replaces or precedes the prompt's own), so two generations
//! that both declare `class BinarySearchTree` do not collide, and is named
//! after its public type as javac requires. javac's diagnostics name the
//! file, which maps them back to the generation.
//!
//! By default javac skips type checking of every file once any file has a
//! syntax error; `-XDshould-stop.ifError=FLOW` makes it check all files
//! regardless, so one broken generation cannot hide another's type errors.
//!
//! javac's error recovery is exponential on some broken generations (a
//! deeply nested chain of calls that do not resolve, `f(this.g(this.g(…`,
//! found in a benchmark run: one 9-line file kept javac busy for over eight
//! minutes). Each run therefore has a deadline that grows with the number of
//! files; a run past it is killed and handled like a run javac aborted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Why the batch could not be compiled at all (as opposed to a generation
/// that does not compile, which is a result).
#[derive(Debug, thiserror::Error)]
pub enum JavacError {
    #[error("cannot run `javac` (is a JDK installed and on PATH?): {0}")]
    Spawn(std::io::Error),
    #[error("cannot write javac sources under {path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
}

/// javac's verdict on one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileOutcome {
    pub compiles: bool,
    /// The first diagnostic, e.g. `cannot find symbol`.
    pub first_error: Option<String>,
}

/// How one javac run ended.
enum JavacRun {
    /// Exit status 0 or 1: every file was judged.
    Judged(Vec<CompileOutcome>),
    /// Any other status (4, "abnormal", after an internal AssertionError on
    /// some inputs), or killed past its deadline: javac stopped part-way, so
    /// files it had not reached yet carry no errors although they were never
    /// checked.
    Aborted(String),
}

/// How long one javac run over `files` sources may take: a JVM start and
/// JIT warm-up, then a generous per-file allowance (a healthy run takes well
/// under 0.1 s per generation on a 2-core box), so only a pathological input
/// reaches it. Bisection then costs about `2 * deadline(n)` in all.
fn deadline(files: usize) -> Duration {
    Duration::from_secs(10) + Duration::from_millis(500) * files as u32
}

/// Compiles `sources` (any order) under `work_dir`, which is created and may
/// be reused; returns one outcome per source, in order.
///
/// One javac run judges them all. A run that javac aborts (javac 17 does on
/// some broken generations) is split in halves and each half retried, down
/// to the single sources that abort it, which count as not compiling: a few
/// extra runs instead of silently passing every file javac never reached.
pub fn compile_batch(sources: &[&str], work_dir: &Path) -> Result<Vec<CompileOutcome>, JavacError> {
    compile_batch_within(sources, work_dir, &deadline)
}

fn compile_batch_within(
    sources: &[&str],
    work_dir: &Path,
    deadline: &dyn Fn(usize) -> Duration,
) -> Result<Vec<CompileOutcome>, JavacError> {
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    match run_javac(sources, work_dir, deadline(sources.len()))? {
        JavacRun::Judged(outcomes) => Ok(outcomes),
        JavacRun::Aborted(reason) if sources.len() == 1 => {
            Ok(vec![CompileOutcome { compiles: false, first_error: Some(format!("javac aborted: {reason}")) }])
        }
        JavacRun::Aborted(_) => {
            let (first, second) = sources.split_at(sources.len() / 2);
            let mut outcomes = compile_batch_within(first, &work_dir.join("a"), deadline)?;
            outcomes.extend(compile_batch_within(second, &work_dir.join("b"), deadline)?);
            Ok(outcomes)
        }
    }
}

fn run_javac(sources: &[&str], work_dir: &Path, deadline: Duration) -> Result<JavacRun, JavacError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| JavacError::Io { path, cause: source }
    };
    let _ = std::fs::remove_dir_all(work_dir);
    std::fs::create_dir_all(work_dir).map_err(io(work_dir))?;
    // Absolute, because javac runs inside it (see `current_dir` below).
    let work_dir = &work_dir.canonicalize().map_err(io(work_dir))?;
    let classes = work_dir.join("classes");
    std::fs::create_dir_all(&classes).map_err(io(&classes))?;
    let mut file_of: HashMap<PathBuf, usize> = HashMap::new();
    let mut arg_lines = String::new();
    for (i, source) in sources.iter().enumerate() {
        let package = format!("g{i}");
        let dir = work_dir.join("src").join(&package);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join(format!("{}.java", public_type_name(source).unwrap_or("Snippet")));
        std::fs::write(&path, with_package(source, &package)).map_err(io(&path))?;
        let path = path.canonicalize().map_err(io(&path))?;
        arg_lines.push_str(&format!("\"{}\"\n", path.display()));
        file_of.insert(path, i);
    }
    let arg_file = work_dir.join("sources.txt");
    std::fs::write(&arg_file, arg_lines).map_err(io(&arg_file))?;
    // Diagnostics go to a file, not a pipe: a pipe nobody reads while we
    // wait would fill and stall javac.
    let diagnostics_path = work_dir.join("diagnostics.txt");
    let diagnostics_file = std::fs::File::create(&diagnostics_path).map_err(io(&diagnostics_path))?;
    let mut child = Command::new("javac")
        .args(["-proc:none", "-nowarn", "-Xlint:none", "-Xmaxerrs", "1000000", "-encoding", "UTF-8"])
        .arg("-XDshould-stop.ifError=FLOW")
        .arg("-d")
        .arg(&classes)
        .arg(format!("@{}", arg_file.display()))
        // javac writes a crash dump (javac.DATE.args) into its working directory.
        .current_dir(work_dir)
        .stdout(Stdio::null())
        .stderr(diagnostics_file)
        .spawn()
        .map_err(JavacError::Spawn)?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(JavacError::Spawn)? {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(JavacRun::Aborted(format!("javac ran past its {} s deadline", deadline.as_secs())));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let diagnostics = std::fs::read(&diagnostics_path).map_err(io(&diagnostics_path))?;
    let diagnostics = String::from_utf8_lossy(&diagnostics);
    if !matches!(status.code(), Some(0 | 1)) {
        let reason = diagnostics
            .lines()
            .find(|l| l.contains("Exception") || l.contains("Error:"))
            .map(str::to_string)
            .unwrap_or_else(|| format!("exit status {status}"));
        return Ok(JavacRun::Aborted(reason));
    }
    let mut outcomes = vec![CompileOutcome { compiles: true, first_error: None }; sources.len()];
    for (path, message) in parse_errors(&diagnostics) {
        let Some(&i) = file_of.get(Path::new(path)) else { continue };
        if outcomes[i].compiles {
            outcomes[i] = CompileOutcome { compiles: false, first_error: Some(message.to_string()) };
        }
    }
    Ok(JavacRun::Judged(outcomes))
}

/// `(file, message)` of every `FILE:LINE: error: MESSAGE` line.
fn parse_errors(diagnostics: &str) -> impl Iterator<Item = (&str, &str)> {
    diagnostics.lines().filter_map(|line| {
        let (location, message) = line.split_once(": error: ")?;
        let (path, line_no) = location.rsplit_once(':')?;
        line_no.parse::<u32>().ok()?;
        Some((path, message))
    })
}

/// The name of the first `public` top-level type, which javac requires to
/// match the file name.
pub fn public_type_name(source: &str) -> Option<&str> {
    for line in source.lines() {
        let mut words = line.split_whitespace().peekable();
        if words.peek() != Some(&"public") {
            continue;
        }
        let mut words =
            words.skip_while(|w| matches!(*w, "public" | "final" | "abstract" | "sealed" | "non-sealed" | "strictfp"));
        if let (Some("class" | "interface" | "enum" | "record"), Some(name)) = (words.next(), words.next()) {
            let end = name.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).unwrap_or(name.len());
            if end > 0 {
                return Some(&name[..end]);
            }
        }
    }
    None
}

/// Puts the source in `package`, replacing a leading package declaration.
fn with_package(source: &str, package: &str) -> String {
    let trimmed = source.trim_start();
    if trimmed.starts_with("package ") {
        if let Some(end) = trimmed.find(';') {
            return format!("package {package};{}", &trimmed[end + 1..]);
        }
    }
    format!("package {package};\n{source}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_public_type() {
        assert_eq!(public_type_name("import x;\npublic final class Tree<T> {"), Some("Tree"));
        assert_eq!(public_type_name("class Hidden {}\npublic record Point(int x) {}"), Some("Point"));
        assert_eq!(public_type_name("class Hidden {}"), None);
    }

    #[test]
    fn package_is_replaced_or_added() {
        assert_eq!(with_package("package a.b;\nclass A {}", "g3"), "package g3;\nclass A {}");
        assert_eq!(with_package("class A {}", "g3"), "package g3;\nclass A {}");
    }

    #[test]
    fn one_run_judges_each_file_even_next_to_syntax_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = "public class Tree {\n  int size() { return 0; }\n}\n";
        let type_error = "public class Tree {\n  int size() { return \"no\"; }\n}\n";
        let syntax_error = "public class Tree {\n  int size() { return 0 }\n}\n";
        let outcomes = compile_batch(&[good, syntax_error, type_error, good], dir.path()).unwrap();
        let verdicts: Vec<bool> = outcomes.iter().map(|o| o.compiles).collect();
        assert_eq!(verdicts, [true, false, false, true]);
        assert!(outcomes[1].first_error.as_deref().unwrap().contains("';' expected"), "{:?}", outcomes[1]);
        assert!(outcomes[2].first_error.as_deref().unwrap().contains("incompatible types"), "{:?}", outcomes[2]);
    }

    /// javac 17.0 aborts (exit status 4, an internal AssertionError) on this
    /// shape of broken generation, found in a benchmark run; every file
    /// after it in the same run then went unchecked and counted as compiling.
    const ABORTS_JAVAC: &str = "public class BinarySearchTree {\n    private static class Node {\n        Node(int key) {\n        }\n    }\n    public int size() {\n  }\nclass Node {\n    Node(int key, Node<K,V> next) {\n";

    #[test]
    fn an_aborted_run_is_split_until_every_file_is_judged() {
        let dir = tempfile::tempdir().unwrap();
        let good = "public class Tree {\n  int size() { return 0; }\n}\n";
        let missing_return = "public class Tree {\n  int size() { }\n}\n";
        let sources = [good, ABORTS_JAVAC, missing_return, good, missing_return];
        let outcomes = compile_batch(&sources, dir.path()).unwrap();
        let verdicts: Vec<bool> = outcomes.iter().map(|o| o.compiles).collect();
        assert_eq!(verdicts, [true, false, false, true, false]);
        assert!(outcomes[2].first_error.as_deref().unwrap().contains("missing return statement"), "{:?}", outcomes[2]);
        assert!(outcomes[4].first_error.as_deref().unwrap().contains("missing return statement"), "{:?}", outcomes[4]);
    }

    /// javac's error recovery runs for minutes on this generation (found in
    /// a benchmark run; over eight minutes before it was killed).
    const STALLS_JAVAC: &str = "public class FastPower {\n\n    /** base^exponent mod modulus, by repeated squaring. */\n    public static long modPow(long base, long exponent, long modulus) {\n        return modPow(Math.multiplyExact(this.multiplyExact(this.multiplyExact(this.multiplyExact(this.multiplyExact(this.multiplyExact(this.multiplyExact(ONE), 2), modulus)).multiply(this.multiplyExact(this.multiplyExact(this.multiplyExact(this.multiplyExact(this)). amountToAdd,ONE)))==null ? this : this.addExact(this.multiplyExact(this.addExact(this)).multiplyExact(this.addExact(this.addExact(this.multiplyExact(this.addInvoker(this.addExact(this),\n                this.addExact(this.addExact(this.addExact(this.multiplyExact(this.subtractExact(this.multiplyExact(this),\n                this.addExact(this.subtractExact(this.subtractExact(this.addExact(this.subtractExact(this),\n}\n}\n";

    #[test]
    fn a_run_past_its_deadline_is_killed_and_split() {
        let dir = tempfile::tempdir().unwrap();
        let good = "public class Tree {\n  int size() { return 0; }\n}\n";
        // One tiny file compiles in about a second; the stalling one cannot
        // finish in ten.
        let outcomes = compile_batch_within(&[STALLS_JAVAC, good], dir.path(), &|_| Duration::from_secs(10)).unwrap();
        assert!(!outcomes[0].compiles);
        assert!(outcomes[0].first_error.as_deref().unwrap().contains("deadline"), "{:?}", outcomes[0]);
        assert!(outcomes[1].compiles, "{:?}", outcomes[1]);
    }
}
