//! Reading a Java corpus from a directory tree or a zip archive.
//!
//! Files are visited in sorted path order so that everything downstream
//! (de-duplication keeps the first copy, the split, the source hash) is
//! deterministic whatever order the file system or archive lists them in.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{IoContext, Result, TrainerError};

/// One source file that survived filtering.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the corpus root (or the name inside the zip), with `/`.
    pub path: String,
    pub text: String,
}

/// Which files to take and how to clean them.
#[derive(Debug, Clone, Default)]
pub struct CorpusOptions {
    /// Only paths starting with one of these prefixes (e.g. `java.base/`); empty = all.
    pub include_prefixes: Vec<String>,
    /// Drop a leading block comment that looks like a copyright/licence notice.
    pub strip_license_headers: bool,
}

/// What reading the corpus found, for the metadata file.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct CorpusStats {
    pub files_seen: usize,
    pub files_kept: usize,
    pub duplicates_removed: usize,
    pub non_utf8_skipped: usize,
    pub license_headers_stripped: usize,
    /// Up to 20 of the skipped paths, so a user can see what was dropped.
    pub skipped_examples: Vec<String>,
    /// SHA-256 over the sorted (path, content hash) pairs of every `.java` file read.
    pub source_hash: String,
}

/// Reads every `.java` file under `root` (a directory or a `.zip`).
pub fn read_corpus(
    root: &Path,
    options: &CorpusOptions,
    mut on_file: impl FnMut(usize),
) -> Result<(Vec<SourceFile>, CorpusStats)> {
    let raw = if root.is_dir() {
        read_dir_files(root)?
    } else if root.is_file() {
        read_zip_files(root)?
    } else {
        return Err(TrainerError::Corpus { path: root.to_owned(), reason: "no such file or directory".into() });
    };
    let mut raw: Vec<(String, Vec<u8>)> = raw
        .into_iter()
        .filter(|(path, _)| {
            options.include_prefixes.is_empty() || options.include_prefixes.iter().any(|p| path.starts_with(p.as_str()))
        })
        .collect();
    raw.sort_by(|a, b| a.0.cmp(&b.0));

    let mut stats = CorpusStats::default();
    let mut source_hasher = Sha256::new();
    let mut seen_contents = HashSet::new();
    let mut files = Vec::new();
    for (path, bytes) in raw {
        stats.files_seen += 1;
        on_file(bytes.len());
        let content_hash: [u8; 32] = Sha256::digest(&bytes).into();
        source_hasher.update(path.as_bytes());
        source_hasher.update([0]);
        source_hasher.update(content_hash);
        let Ok(mut text) = String::from_utf8(bytes) else {
            stats.non_utf8_skipped += 1;
            if stats.skipped_examples.len() < 20 {
                stats.skipped_examples.push(path);
            }
            continue;
        };
        if !seen_contents.insert(content_hash) {
            stats.duplicates_removed += 1;
            continue;
        }
        if options.strip_license_headers {
            if let Some(stripped) = strip_license_header(&text) {
                text = stripped.to_owned();
                stats.license_headers_stripped += 1;
            }
        }
        files.push(SourceFile { path, text });
    }
    stats.files_kept = files.len();
    stats.source_hash = hex(&source_hasher.finalize());
    if files.is_empty() {
        return Err(TrainerError::EmptyCorpus { path: root.to_owned(), skipped: stats.non_utf8_skipped });
    }
    Ok((files, stats))
}

/// The text after a leading `/* ... */` comment that mentions a copyright or
/// licence, with the blank lines after it; `None` when there is no such header.
/// Javadoc (`/**`) is kept: it documents code rather than the file's legal status.
pub fn strip_license_header(text: &str) -> Option<&str> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with("/*") || trimmed.starts_with("/**") {
        return None;
    }
    let end = trimmed.find("*/")? + 2;
    let comment = trimmed[..end].to_ascii_lowercase();
    if !(comment.contains("copyright") || comment.contains("license") || comment.contains("licence")) {
        return None;
    }
    Some(trimmed[end..].trim_start_matches(['\r', '\n']))
}

/// Splits files into (train, validation) by a hash of each path, so the split
/// is stable when files are added or removed and never depends on listing
/// order. A non-zero fraction always yields at least one validation file (the
/// lowest hash), because a tiny corpus could otherwise get none by chance.
pub fn split_files(files: Vec<SourceFile>, val_fraction: f64) -> (Vec<SourceFile>, Vec<SourceFile>) {
    let threshold = (val_fraction * 1_000_000.0) as u64;
    let (mut val, mut train): (Vec<_>, Vec<_>) = files.into_iter().partition(|f| split_bucket(&f.path) < threshold);
    if val.is_empty() && val_fraction > 0.0 && train.len() > 1 {
        let lowest = (0..train.len()).min_by_key(|&i| split_bucket(&train[i].path)).expect("non-empty");
        val.push(train.remove(lowest));
    }
    (train, val)
}

/// A path's position in [0, 1e6) for the split.
pub fn split_bucket(path: &str) -> u64 {
    let digest = Sha256::digest(path.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")) % 1_000_000
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_dir_files(root: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).at(&dir)? {
            let path = entry.at(&dir)?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "java") {
                let bytes = std::fs::read(&path).at(&path)?;
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let name = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                out.push((name, bytes));
            }
        }
    }
    Ok(out)
}

fn read_zip_files(path: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let file = File::open(path).at(path)?;
    let bad_zip = |e: zip::result::ZipError| TrainerError::Corpus {
        path: path.to_owned(),
        reason: format!("not a readable zip archive: {e}"),
    };
    let mut archive = zip::ZipArchive::new(file).map_err(bad_zip)?;
    let mut out = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(bad_zip)?;
        if !entry.is_file() || !entry.name().ends_with(".java") {
            continue;
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes).at(path)?;
        out.push((entry.name().to_owned(), bytes));
    }
    Ok(out)
}
