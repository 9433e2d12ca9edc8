//! `logitloom prepare --by-project`: a corpus of many projects, streamed.
//!
//! The input is a directory whose sub-directories are projects (what
//! `trainer/scripts/fetch_corpus.py` unpacks: one per Debian source package),
//! plus any number of held-out inputs (the JDK's `src.zip`, whose top
//! directories are its modules). Nothing holds the corpus in memory: a file is
//! read, judged and forgotten, and read again when it is tokenized.
//!
//! 1. **Judge** every file in a fixed order (training projects, then
//!    validation projects, then held-out inputs; each by path), dropping, with
//!    the reason: oversized, non-UTF-8, empty, generated, vendored by path,
//!    data-like (long lines), exact duplicate (hash of the text with
//!    whitespace removed), near duplicate (MinHash, [`crate::minhash`]). A
//!    duplicate is dropped from the *later* group, so a validation file never
//!    has a copy in training.
//! 2. **Train the tokenizer** on a sample of the kept training files (by a hash
//!    of their path, up to `tokenizer_sample_bytes`).
//! 3. **Encode** each split in chunks straight into its token file.
//!
//! Validation is whole projects: those marked `heldout` in the manifest and
//! those whose name hashes under `val_fraction`. Held-out inputs go to
//! `test.bin`, so that the model never sees them and they can be scored apart.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::bpe::{end_of_text_id, load_tokenizer, train_bpe, END_OF_TEXT};
use crate::corpus::{hex, split_bucket, strip_license_header, CorpusStats};
use crate::error::{IoContext, Result, TrainerError};
use crate::minhash::{signature, LshIndex, Signature};
use crate::prepare::{DataMeta, SplitMeta, META_FILE, TOKENIZER_FILE, TRAIN_FILE, VAL_FILE};
use crate::tokens::{width_for_vocab, TokenWriter};

pub const TEST_FILE: &str = "test.bin";
pub const DROPS_FILE: &str = "drops.jsonl";
pub const PROJECTS_FILE: &str = "projects.jsonl";

#[derive(Debug, Clone)]
pub struct ProjectPrepareOptions {
    /// A directory of projects, one sub-directory each.
    pub input: PathBuf,
    /// `fetch_corpus.py`'s manifest.jsonl: `split: "heldout"` puts a project in validation.
    pub manifest: Option<PathBuf>,
    /// Directories or zips held out entirely (test split); their top directories are the projects.
    pub test_inputs: Vec<PathBuf>,
    pub out_dir: PathBuf,
    pub vocab_size: usize,
    pub tokenizer: Option<PathBuf>,
    /// Projects not marked in the manifest go to validation when their name hashes below this.
    pub val_fraction: f64,
    pub strip_license_headers: bool,
    pub max_file_bytes: usize,
    /// Estimated Jaccard similarity at or above which a file is a near duplicate.
    pub near_dup_threshold: f64,
    pub tokenizer_sample_bytes: usize,
    /// Also write each split's kept text (files separated by `<|endoftext|>`)
    /// under `text/`, for tokenizing elsewhere (the GPU machine has no Rust).
    pub export_text: bool,
    pub show_progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    fn index(self) -> usize {
        self as usize
    }
}

/// Why a file was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    Oversized,
    NonUtf8,
    Empty,
    EndOfTextMarker,
    Generated,
    VendoredPath,
    LongLines,
    ExactDuplicate,
    NearDuplicate,
}

/// Counts by reason, for meta.json and the summary printed at the end.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct DropCount {
    pub files: usize,
    pub bytes: usize,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct DedupReport {
    pub projects: [usize; 3],
    pub files_seen: usize,
    pub bytes_seen: usize,
    pub files_kept: usize,
    pub bytes_kept: usize,
    pub dropped: BTreeMap<DropReason, DropCount>,
    pub near_dup_threshold: f64,
    pub max_file_bytes: usize,
    pub tokenizer_sample_bytes: usize,
}

/// One file of the listing.
struct Entry {
    split: Split,
    project: u32,
    input: u32,
    /// Path inside its input, with `/`.
    path: String,
}

/// Reads entries from directory and zip inputs; one open archive per zip.
struct Reader {
    roots: Vec<PathBuf>,
    zips: Vec<Option<zip::ZipArchive<File>>>,
}

impl Reader {
    fn read(&mut self, entry: &Entry) -> Result<Vec<u8>> {
        let root = &self.roots[entry.input as usize];
        match &mut self.zips[entry.input as usize] {
            Some(archive) => {
                let mut file = archive
                    .by_name(&entry.path)
                    .map_err(|e| TrainerError::Corpus { path: root.clone(), reason: format!("{}: {e}", entry.path) })?;
                let mut bytes = Vec::with_capacity(file.size() as usize);
                file.read_to_end(&mut bytes).at(root)?;
                Ok(bytes)
            }
            None => {
                let path = root.join(&entry.path);
                std::fs::read(&path).at(&path)
            }
        }
    }
}

/// Phrases generators put at the top of what they write. The `@Generated`
/// annotation is matched as a whole word below, so JPA's `@GeneratedValue`
/// does not count.
const GENERATED_MARKERS: [&str; 7] = [
    "generated by",
    "do not edit",
    "auto-generated",
    "autogenerated",
    "automatically generated",
    "generated from",
    "this file was generated",
];
const VENDOR_DIRS: [&str; 6] = ["third_party", "thirdparty", "third-party", "3rdparty", "vendor", "vendored"];

/// What one file's own analysis gives (the part that runs in parallel): its
/// content hash, near-duplicate signature, cleaned length and whether
/// `clean` stripped anything; or why it is dropped.
type Verdict = std::result::Result<([u8; 16], Option<Signature>, usize, bool), DropReason>;

/// The text a kept file contributes, or why it is dropped (everything that
/// does not need the other files).
fn clean(
    bytes: Vec<u8>,
    path: &str,
    options: &ProjectPrepareOptions,
) -> std::result::Result<(String, bool), DropReason> {
    if bytes.len() > options.max_file_bytes {
        return Err(DropReason::Oversized);
    }
    if path.split('/').any(|part| VENDOR_DIRS.contains(&part.to_ascii_lowercase().as_str())) {
        return Err(DropReason::VendoredPath);
    }
    let mut text = String::from_utf8(bytes).map_err(|_| DropReason::NonUtf8)?;
    let mut stripped_header = false;
    if options.strip_license_headers {
        if let Some(stripped) = strip_license_header(&text) {
            text = stripped.to_owned();
            stripped_header = true;
        }
    }
    if text.trim().is_empty() {
        return Err(DropReason::Empty);
    }
    if text.contains(END_OF_TEXT) {
        return Err(DropReason::EndOfTextMarker);
    }
    // Generators say so at the top; looking further would catch hand-written
    // code that merely mentions a generator.
    let head: String = text.chars().take(1500).collect::<String>().to_ascii_lowercase();
    // `@Generated`, `@javax.annotation.Generated` or the `@generated` Javadoc tag, as whole words.
    let tagged = ["@generated", "annotation.generated"].iter().any(|tag| {
        head.match_indices(tag)
            .any(|(at, m)| !head[at + m.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
    });
    if tagged
        || GENERATED_MARKERS.iter().any(|m| head.contains(m))
        || path.contains("/generated/")
        || path.contains("generated-sources")
    {
        return Err(DropReason::Generated);
    }
    // Tables, embedded data and minified code, not code a person wrote.
    if text.lines().any(|line| line.len() > 1000) {
        return Err(DropReason::LongLines);
    }
    Ok((text, stripped_header))
}

/// Hash of the text without whitespace: copies that differ only in layout are exact duplicates.
fn content_hash(text: &str) -> [u8; 16] {
    let mut hasher = Sha256::new();
    for chunk in text.split(|c: char| c.is_whitespace()) {
        hasher.update(chunk.as_bytes());
    }
    hasher.finalize()[..16].try_into().expect("16 bytes")
}

fn list_dir(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).at(&dir)? {
            let entry = entry.at(&dir)?;
            let kind = entry.file_type().at(entry.path())?;
            let path = entry.path();
            // A project directory may be a link (a corpus assembled from
            // elsewhere); links deeper down are not followed, so no cycle.
            if kind.is_dir() || (kind.is_symlink() && dir == root && path.is_dir()) {
                stack.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "java") {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                out.push(relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
        }
    }
    Ok(out)
}

fn list_input(path: &Path) -> Result<(Vec<String>, Option<zip::ZipArchive<File>>)> {
    if path.is_dir() {
        return Ok((list_dir(path)?, None));
    }
    if !path.is_file() {
        return Err(TrainerError::Corpus { path: path.to_owned(), reason: "no such file or directory".into() });
    }
    let file = File::open(path).at(path)?;
    let archive = zip::ZipArchive::new(file).map_err(|e| TrainerError::Corpus {
        path: path.to_owned(),
        reason: format!("not a readable zip archive: {e}"),
    })?;
    let names = archive.file_names().filter(|n| n.ends_with(".java") && !n.ends_with('/')).map(str::to_owned).collect();
    Ok((names, Some(archive)))
}

/// Project names marked `heldout` in the manifest.
fn heldout_projects(manifest: &Path) -> Result<HashSet<String>> {
    let text = std::fs::read_to_string(manifest).at(manifest)?;
    let mut out = HashSet::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| TrainerError::Corpus {
            path: manifest.to_owned(),
            reason: format!("line {}: {reason}", number + 1),
        };
        let row: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let package = row.get("package").and_then(|v| v.as_str()).ok_or_else(|| bad("no string `package`".into()))?;
        match row.get("split").and_then(|v| v.as_str()) {
            Some("heldout") => {
                out.insert(package.to_owned());
            }
            Some("train") | None => {}
            Some(other) => return Err(bad(format!("`split` is {other:?}; expected \"train\" or \"heldout\""))),
        }
    }
    Ok(out)
}

fn bar(show: bool, len: u64, template: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    bar
}

const CHUNK: usize = 512;

pub fn prepare_projects(options: &ProjectPrepareOptions) -> Result<DataMeta> {
    if !(0.0..1.0).contains(&options.val_fraction) {
        return Err(TrainerError::Corpus {
            path: options.input.clone(),
            reason: format!("validation fraction {} must be in [0, 1)", options.val_fraction),
        });
    }
    if !(0.0..=1.0).contains(&options.near_dup_threshold) {
        return Err(TrainerError::Corpus {
            path: options.input.clone(),
            reason: format!("near-duplicate threshold {} must be in [0, 1]", options.near_dup_threshold),
        });
    }
    let heldout = match &options.manifest {
        Some(path) => heldout_projects(path)?,
        None => HashSet::new(),
    };

    // The listing: paths only, sorted so that every decision is reproducible.
    let mut roots = vec![options.input.clone()];
    roots.extend(options.test_inputs.iter().cloned());
    let mut zips = Vec::new();
    let mut project_names: Vec<String> = Vec::new();
    let mut project_ids: HashMap<(u32, String), u32> = HashMap::new();
    let mut entries = Vec::new();
    for (input, root) in roots.iter().enumerate() {
        let (names, archive) = list_input(root)?;
        zips.push(archive);
        for path in names {
            let Some((top, _)) = path.split_once('/') else { continue };
            let split = if input > 0 {
                Split::Test
            } else if heldout.contains(top) || split_bucket(top) < (options.val_fraction * 1_000_000.0) as u64 {
                Split::Val
            } else {
                Split::Train
            };
            let key = (input as u32, top.to_owned());
            let next = project_names.len() as u32;
            let project = *project_ids.entry(key).or_insert_with(|| {
                project_names.push(if input == 0 {
                    top.to_owned()
                } else {
                    format!("{}:{top}", root.file_name().map(|n| n.to_string_lossy()).unwrap_or_default())
                });
                next
            });
            entries.push(Entry { split, project, input: input as u32, path });
        }
    }
    for name in &heldout {
        if !project_ids.contains_key(&(0, name.clone())) {
            return Err(TrainerError::Corpus {
                path: options.input.clone(),
                reason: format!("held-out project `{name}` from the manifest has no directory here"),
            });
        }
    }
    entries.sort_by(|a, b| (a.split, a.input, &a.path).cmp(&(b.split, b.input, &b.path)));
    if !entries.iter().any(|e| e.split == Split::Train) {
        return Err(TrainerError::EmptyCorpus { path: options.input.clone(), skipped: 0 });
    }
    let mut reader = Reader { roots: roots.clone(), zips };
    let full_path = |e: &Entry| {
        if e.input == 0 {
            e.path.clone()
        } else {
            format!("{}:{}", project_names[e.project as usize].split(':').next().unwrap_or(""), e.path)
        }
    };

    std::fs::create_dir_all(&options.out_dir).at(&options.out_dir)?;
    let drops_path = options.out_dir.join(DROPS_FILE);
    let mut drops = BufWriter::new(File::create(&drops_path).at(&drops_path)?);

    // 1. Judge.
    let mut report = DedupReport {
        near_dup_threshold: options.near_dup_threshold,
        max_file_bytes: options.max_file_bytes,
        tokenizer_sample_bytes: options.tokenizer_sample_bytes,
        ..Default::default()
    };
    let mut kept = vec![false; entries.len()];
    let mut kept_bytes = vec![0u32; entries.len()];
    let mut exact: HashMap<[u8; 16], u32> = HashMap::new();
    let mut index = LshIndex::new();
    let mut source_hasher = Sha256::new();
    let mut licence_headers = 0usize;
    let mut per_project: Vec<[usize; 4]> = vec![[0; 4]; project_names.len()]; // seen, kept, bytes kept, tokens
    let judging = bar(
        options.show_progress,
        entries.len() as u64,
        "judging   {bar:30} {pos}/{len} files {per_sec} [{elapsed}<{eta}] {msg}",
    );
    for (chunk_index, chunk) in entries.chunks(CHUNK).enumerate() {
        let raw = chunk.iter().map(|e| reader.read(e)).collect::<Result<Vec<_>>>()?;
        let analysed: Vec<(usize, [u8; 32], Verdict)> = raw
            .into_par_iter()
            .zip(chunk.par_iter())
            .map(|(bytes, entry)| {
                let len = bytes.len();
                let digest: [u8; 32] = Sha256::digest(&bytes).into();
                let verdict = clean(bytes, &entry.path, options)
                    .map(|(text, stripped)| (content_hash(&text), signature(&text), text.len(), stripped));
                (len, digest, verdict)
            })
            .collect();
        for (offset, (entry, (len, digest, verdict))) in chunk.iter().zip(analysed).enumerate() {
            let id = (chunk_index * CHUNK + offset) as u32;
            report.files_seen += 1;
            report.bytes_seen += len;
            per_project[entry.project as usize][0] += 1;
            source_hasher.update(full_path(entry).as_bytes());
            source_hasher.update([0]);
            source_hasher.update(digest);
            let (reason, of) = match verdict {
                Err(reason) => (reason, None),
                Ok((hash, sig, text_len, stripped)) => {
                    if let Some(&first) = exact.get(&hash) {
                        (DropReason::ExactDuplicate, Some((first, 1.0)))
                    } else if let Some((first, s)) =
                        sig.as_ref().and_then(|sig| index.query(sig, options.near_dup_threshold))
                    {
                        (DropReason::NearDuplicate, Some((first, s)))
                    } else {
                        exact.insert(hash, id);
                        if let Some(sig) = sig {
                            index.insert(id, sig);
                        }
                        kept[id as usize] = true;
                        kept_bytes[id as usize] = text_len as u32;
                        report.files_kept += 1;
                        licence_headers += stripped as usize;
                        report.bytes_kept += text_len;
                        per_project[entry.project as usize][1] += 1;
                        per_project[entry.project as usize][2] += text_len;
                        continue;
                    }
                }
            };
            let count = report.dropped.entry(reason).or_default();
            count.files += 1;
            count.bytes += len;
            let mut row = serde_json::json!({ "path": full_path(entry), "reason": reason, "bytes": len });
            if let Some((first, similarity)) = of {
                row["of"] = full_path(&entries[first as usize]).into();
                row["similarity"] = ((similarity * 1000.0).round() / 1000.0).into();
            }
            writeln!(drops, "{row}").at(&drops_path)?;
        }
        judging.inc(chunk.len() as u64);
        judging.set_message(format!("{} kept, {:.0} MB", report.files_kept, report.bytes_kept as f64 / 1e6));
    }
    judging.finish();
    drops.flush().at(&drops_path)?;
    drop(index);
    drop(exact);

    // 2. Tokenizer.
    let (kept_ref, entries_ref) = (&kept, &entries);
    let split_ids =
        move |split: Split| (0..entries_ref.len()).filter(move |&i| kept_ref[i] && entries_ref[i].split == split);
    let train_ids: Vec<usize> = split_ids(Split::Train).collect();
    if train_ids.is_empty() {
        return Err(TrainerError::Corpus {
            path: options.input.clone(),
            reason: "no training file survived the filters".into(),
        });
    }
    let train_bytes: usize = train_ids.iter().map(|&i| kept_bytes[i] as usize).sum();
    let tokenizer_path = options.out_dir.join(TOKENIZER_FILE);
    let (tokenizer, tokenizer_source) = match &options.tokenizer {
        Some(path) => (load_tokenizer(path)?, path.display().to_string()),
        None => {
            let fraction = (options.tokenizer_sample_bytes as f64 / train_bytes as f64).min(1.0);
            let sample: Vec<usize> = train_ids
                .iter()
                .copied()
                .filter(|&i| split_bucket(&entries[i].path) < (fraction * 1_000_000.0).ceil() as u64)
                .collect();
            let sample_bytes: usize = sample.iter().map(|&i| kept_bytes[i] as usize).sum();
            if options.show_progress {
                eprintln!(
                    "tokenizer: training a {}-token BPE on {} files ({:.0} MB) of the training split",
                    options.vocab_size,
                    sample.len(),
                    sample_bytes as f64 / 1e6
                );
            }
            let mut failure = None;
            let texts = sample.iter().map_while(|&i| match reader.read(&entries[i]) {
                Ok(bytes) => clean(bytes, &entries[i].path, options).ok().map(|(text, _)| text),
                Err(e) => {
                    failure = Some(e);
                    None
                }
            });
            let tokenizer = train_bpe(texts, options.vocab_size, options.show_progress)?;
            if let Some(e) = failure {
                return Err(e);
            }
            (tokenizer, format!("trained on {} files, {} bytes", sample.len(), sample_bytes))
        }
    };
    let eot = end_of_text_id(&tokenizer, &tokenizer_path)?;
    let vocab_size = tokenizer.get_vocab_size(true);
    tokenizer
        .save(&tokenizer_path, false)
        .map_err(|e| TrainerError::Tokenizer { path: tokenizer_path.clone(), reason: e.to_string() })?;

    // 3. Encode.
    let text_dir = options.out_dir.join("text");
    if options.export_text {
        std::fs::create_dir_all(&text_dir).at(&text_dir)?;
    }
    let total_kept = kept.iter().filter(|&&k| k).count() as u64;
    let encoding = bar(
        options.show_progress,
        total_kept,
        "encoding  {bar:30} {pos}/{len} files {per_sec} [{elapsed}<{eta}] {msg}",
    );
    let mut metas: [Option<SplitMeta>; 3] = [None, None, None];
    let mut total_tokens = 0usize;
    for (split, name) in [(Split::Train, TRAIN_FILE), (Split::Val, VAL_FILE), (Split::Test, TEST_FILE)] {
        let ids: Vec<usize> = split_ids(split).collect();
        if ids.is_empty() {
            if split == Split::Val {
                return Err(TrainerError::Corpus {
                    path: options.input.clone(),
                    reason: "no validation project: mark some `heldout` in the manifest or raise --val-fraction".into(),
                });
            }
            continue;
        }
        let path = options.out_dir.join(name);
        let mut writer = TokenWriter::create(&path, vocab_size)?;
        let text_path = text_dir.join(name.replace(".bin", ".txt"));
        let mut text_out =
            if options.export_text { Some(BufWriter::new(File::create(&text_path).at(&text_path)?)) } else { None };
        let mut meta = SplitMeta { files: 0, bytes: 0, tokens: 0 };
        for chunk in ids.chunks(CHUNK) {
            let raw = chunk.iter().map(|&i| reader.read(&entries[i])).collect::<Result<Vec<_>>>()?;
            let texts: Vec<String> = raw
                .into_par_iter()
                .zip(chunk.par_iter())
                .map(|(bytes, &i)| clean(bytes, &entries[i].path, options).expect("a kept file is kept again").0)
                .collect();
            let encodings = tokenizer
                .encode_batch(texts.iter().map(String::as_str).collect::<Vec<_>>(), false)
                .map_err(|e| TrainerError::Tokenizer { path: tokenizer_path.clone(), reason: e.to_string() })?;
            for ((text, enc), &i) in texts.iter().zip(&encodings).zip(chunk) {
                writer.push(enc.get_ids())?;
                writer.push(&[eot])?;
                meta.files += 1;
                meta.bytes += text.len();
                meta.tokens += enc.get_ids().len() + 1;
                per_project[entries[i].project as usize][3] += enc.get_ids().len() + 1;
                if let Some(out) = text_out.as_mut() {
                    out.write_all(text.as_bytes()).at(&text_path)?;
                    out.write_all(END_OF_TEXT.as_bytes()).at(&text_path)?;
                }
            }
            total_tokens += encodings.iter().map(|e| e.get_ids().len() + 1).sum::<usize>();
            encoding.inc(chunk.len() as u64);
            encoding.set_message(format!("{:.1}M tokens", total_tokens as f64 / 1e6));
        }
        writer.finish()?;
        if let Some(mut out) = text_out {
            out.flush().at(&text_path)?;
        }
        metas[split.index()] = Some(meta);
    }
    encoding.finish();

    // Per-project table: what each project gave.
    let projects_path = options.out_dir.join(PROJECTS_FILE);
    let mut projects_out = BufWriter::new(File::create(&projects_path).at(&projects_path)?);
    let mut project_split = vec![Split::Train; project_names.len()];
    for e in &entries {
        project_split[e.project as usize] = e.split;
    }
    for (p, name) in project_names.iter().enumerate() {
        report.projects[project_split[p].index()] += 1;
        let [seen, kept, bytes, tokens] = per_project[p];
        let row = serde_json::json!({ "project": name, "split": project_split[p], "files_seen": seen, "files_kept": kept, "bytes_kept": bytes, "tokens": tokens });
        writeln!(projects_out, "{row}").at(&projects_path)?;
    }
    projects_out.flush().at(&projects_path)?;

    let [train, val, test] = metas;
    let duplicates = report.dropped.get(&DropReason::ExactDuplicate).map_or(0, |c| c.files)
        + report.dropped.get(&DropReason::NearDuplicate).map_or(0, |c| c.files);
    let meta = DataMeta {
        input: options.input.display().to_string(),
        vocab_size,
        end_of_text_id: eot,
        token_width_bytes: width_for_vocab(vocab_size),
        tokenizer: tokenizer_source,
        val_fraction: options.val_fraction,
        strip_license_headers: options.strip_license_headers,
        include_prefixes: Vec::new(),
        train: train.expect("training split is non-empty"),
        val: val.expect("validation split is non-empty"),
        corpus: CorpusStats {
            files_seen: report.files_seen,
            files_kept: report.files_kept,
            duplicates_removed: duplicates,
            non_utf8_skipped: report.dropped.get(&DropReason::NonUtf8).map_or(0, |c| c.files),
            license_headers_stripped: licence_headers,
            skipped_examples: Vec::new(),
            source_hash: hex(&source_hasher.finalize()),
        },
        test,
        test_inputs: options.test_inputs.iter().map(|p| p.display().to_string()).collect(),
        dedup: Some(report),
    };
    let meta_path = options.out_dir.join(META_FILE);
    std::fs::write(&meta_path, serde_json::to_string_pretty(&meta).expect("metadata serialises") + "\n")
        .at(&meta_path)?;
    Ok(meta)
}
