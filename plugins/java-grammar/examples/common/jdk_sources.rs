//! The JDK's own Java, read from its `src.zip`, and the progress bar the
//! replay examples show while they walk it. Shared by the grammar crate's
//! examples and `bench`'s `java_replay` (through `#[path]`: examples cannot
//! depend on each other, and this is too small to be a crate).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

/// Every `.java` file of the named modules (`java.base`, `java.sql`, …) in
/// `src.zip`, as (path in the zip, text), sorted by path. With more than one
/// module the `module-info.java` files are left out: they would repeat.
pub fn read_modules(zip_path: &Path, modules: &[String]) -> Result<Vec<(String, String)>> {
    let file = std::fs::File::open(zip_path).with_context(|| zip_path.display().to_string())?;
    let mut zip = zip::ZipArchive::new(file).with_context(|| zip_path.display().to_string())?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let name = entry.name().to_string();
        let in_module = modules.iter().any(|m| name.starts_with(&format!("{m}/")));
        if !in_module || !name.ends_with(".java") || name.ends_with("module-info.java") && modules.len() > 1 {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text).with_context(|| name.clone())?;
        out.push((name, text));
    }
    out.sort();
    Ok(out)
}

/// The `.java` files below `dir`, depth first in name order; nothing if
/// `dir` cannot be read.
pub fn java_files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(java_files_under(&p));
        } else if p.extension().is_some_and(|e| e == "java") {
            out.push(p);
        }
    }
    out
}

pub fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}} [{{elapsed}} < {{eta}}] {{msg}}"))
            .expect("valid template"),
    );
    bar
}
