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
    #[error("cannot write javac sources under {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// javac itself failed (an internal exception): its per-file verdicts
    /// cannot be trusted, so none are reported.
    #[error("javac crashed: {0}")]
    Crashed(String),
}

/// javac's verdict on one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileOutcome {
    pub compiles: bool,
    /// The first diagnostic, e.g. `cannot find symbol`.
    pub first_error: Option<String>,
}

/// Compiles `sources` (any order) in one javac run under `work_dir`, which
/// is created and may be reused; returns one outcome per source, in order.
pub fn compile_batch(sources: &[&str], work_dir: &Path) -> Result<Vec<CompileOutcome>, JavacError> {
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| JavacError::Io { path, source }
    };
    let _ = std::fs::remove_dir_all(work_dir);
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
        .output()
        .map_err(JavacError::Spawn)?;
    let diagnostics = String::from_utf8_lossy(&output.stderr);
    // A crash leaves files without error lines that never compiled; counting
    // them as compiling would inflate the compile rate.
    if !output.status.success() && diagnostics.contains("An exception has occurred in the compiler") {
        let first = diagnostics.lines().find(|l| l.contains("Exception")).unwrap_or("internal error");
        return Err(JavacError::Crashed(first.to_string()));
    }
    let mut outcomes = vec![CompileOutcome { compiles: true, first_error: None }; sources.len()];
    for (path, message) in parse_errors(&diagnostics) {
        let Some(&i) = file_of.get(Path::new(path)) else { continue };
        if outcomes[i].compiles {
            outcomes[i] = CompileOutcome { compiles: false, first_error: Some(message.to_string()) };
        }
    }
    Ok(outcomes)
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
        let mut words = words.skip_while(|w| matches!(*w, "public" | "final" | "abstract" | "sealed" | "non-sealed" | "strictfp"));
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
}
