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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    /// some inputs): javac stopped part-way, so files it had not reached yet
    /// carry no errors although they were never checked.
    Aborted(String),
}

/// Compiles `sources` (any order) under `work_dir`, which is created and may
/// be reused; returns one outcome per source, in order.
///
/// One javac run judges them all. A run that javac aborts (javac 17 does on
/// some broken generations) is split in halves and each half retried, down
/// to the single sources that abort it, which count as not compiling: a few
/// extra runs instead of silently passing every file javac never reached.
pub fn compile_batch(sources: &[&str], work_dir: &Path) -> Result<Vec<CompileOutcome>, JavacError> {
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    match run_javac(sources, work_dir)? {
        JavacRun::Judged(outcomes) => Ok(outcomes),
        JavacRun::Aborted(reason) if sources.len() == 1 => {
            Ok(vec![CompileOutcome { compiles: false, first_error: Some(format!("javac aborted: {reason}")) }])
        }
        JavacRun::Aborted(_) => {
            let (first, second) = sources.split_at(sources.len() / 2);
            let mut outcomes = compile_batch(first, &work_dir.join("a"))?;
            outcomes.extend(compile_batch(second, &work_dir.join("b"))?);
            Ok(outcomes)
        }
    }
}

fn run_javac(sources: &[&str], work_dir: &Path) -> Result<JavacRun, JavacError> {
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
    let output = Command::new("javac")
        .args(["-proc:none", "-nowarn", "-Xlint:none", "-Xmaxerrs", "1000000", "-encoding", "UTF-8"])
        .arg("-XDshould-stop.ifError=FLOW")
        .arg("-d")
        .arg(&classes)
        .arg(format!("@{}", arg_file.display()))
        // javac writes a crash dump (javac.DATE.args) into its working directory.
        .current_dir(work_dir)
        .output()
        .map_err(JavacError::Spawn)?;
    let diagnostics = String::from_utf8_lossy(&output.stderr);
    if !matches!(output.status.code(), Some(0 | 1)) {
        let reason = diagnostics
            .lines()
            .find(|l| l.contains("Exception") || l.contains("Error:"))
            .map(str::to_string)
            .unwrap_or_else(|| format!("exit status {}", output.status));
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
}
