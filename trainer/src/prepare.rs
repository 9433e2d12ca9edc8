//! `logitloom prepare`: corpus -> tokenizer.json + train.bin/val.bin + meta.json.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use crate::bpe::{end_of_text_id, load_tokenizer, train_bpe};
use crate::corpus::{read_corpus, split_files, CorpusOptions, CorpusStats};
use crate::error::{IoContext, Result, TrainerError};
use crate::tokens::{width_for_vocab, write_tokens};

pub const META_FILE: &str = "meta.json";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const TRAIN_FILE: &str = "train.bin";
pub const VAL_FILE: &str = "val.bin";

#[derive(Debug, Clone)]
pub struct PrepareOptions {
    /// A directory of `.java` files or a zip of them.
    pub input: PathBuf,
    pub out_dir: PathBuf,
    pub vocab_size: usize,
    /// Use this tokenizer.json instead of training one.
    pub tokenizer: Option<PathBuf>,
    pub val_fraction: f64,
    pub corpus: CorpusOptions,
    pub show_progress: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct SplitMeta {
    pub files: usize,
    pub bytes: usize,
    pub tokens: usize,
}

/// Written to `meta.json`; the trainer reads the vocabulary size from here.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct DataMeta {
    pub input: String,
    pub vocab_size: usize,
    pub end_of_text_id: u32,
    pub token_width_bytes: u32,
    pub tokenizer: String,
    pub val_fraction: f64,
    pub strip_license_headers: bool,
    pub include_prefixes: Vec<String>,
    pub train: SplitMeta,
    pub val: SplitMeta,
    pub corpus: CorpusStats,
    /// `prepare --by-project`: the held-out inputs' split (test.bin), absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<SplitMeta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_inputs: Vec<String>,
    /// `prepare --by-project`: what was dropped and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<crate::projects::DedupReport>,
}

impl DataMeta {
    pub fn load(data_dir: &Path) -> Result<DataMeta> {
        let path = data_dir.join(META_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| TrainerError::DataDir {
            path: data_dir.to_owned(),
            reason: format!("cannot read {META_FILE} ({e}); run `logitloom prepare` first"),
        })?;
        serde_json::from_str(&text)
            .map_err(|e| TrainerError::DataDir { path: path.clone(), reason: format!("invalid {META_FILE}: {e}") })
    }
}

pub fn prepare(options: &PrepareOptions) -> Result<DataMeta> {
    if !(0.0..1.0).contains(&options.val_fraction) {
        return Err(TrainerError::Corpus {
            path: options.input.clone(),
            reason: format!("validation fraction {} must be in [0, 1)", options.val_fraction),
        });
    }
    let reading = progress(options.show_progress, 0, "reading   {spinner} {pos} files [{elapsed}] {msg}");
    let mut bytes_read = 0usize;
    let (files, stats) = read_corpus(&options.input, &options.corpus, |len| {
        bytes_read += len;
        reading.inc(1);
        reading.set_message(format!("{:.1} MB", bytes_read as f64 / 1e6));
    })?;
    reading.finish();
    let (train, val) = split_files(files, options.val_fraction);
    if train.is_empty() {
        return Err(TrainerError::Corpus {
            path: options.input.clone(),
            reason: "every file landed in the validation split; lower the validation fraction".into(),
        });
    }

    let (tokenizer, tokenizer_source) = match &options.tokenizer {
        Some(path) => (load_tokenizer(path)?, path.display().to_string()),
        None => (
            train_bpe(train.iter().map(|f| f.text.as_str()), options.vocab_size, options.show_progress)?,
            "trained".to_string(),
        ),
    };
    let tokenizer_path = options.out_dir.join(TOKENIZER_FILE);
    std::fs::create_dir_all(&options.out_dir).at(&options.out_dir)?;
    let eot = end_of_text_id(&tokenizer, &tokenizer_path)?;
    let vocab_size = tokenizer.get_vocab_size(true);
    tokenizer
        .save(&tokenizer_path, false)
        .map_err(|e| TrainerError::Tokenizer { path: tokenizer_path.clone(), reason: e.to_string() })?;

    let total_files = (train.len() + val.len()) as u64;
    let encoding = progress(
        options.show_progress,
        total_files,
        "encoding  {bar:30} {pos}/{len} files {per_sec} [{elapsed}<{eta}] {msg}",
    );
    let mut split_meta = Vec::new();
    for (files, name) in [(&train, TRAIN_FILE), (&val, VAL_FILE)] {
        let mut stream: Vec<u32> = Vec::new();
        let mut bytes = 0;
        for chunk in files.chunks(64) {
            let texts: Vec<&str> = chunk.iter().map(|f| f.text.as_str()).collect();
            let encodings = tokenizer
                .encode_batch(texts, false)
                .map_err(|e| TrainerError::Tokenizer { path: tokenizer_path.clone(), reason: e.to_string() })?;
            for (file, encoding) in chunk.iter().zip(encodings) {
                stream.extend_from_slice(encoding.get_ids());
                stream.push(eot);
                bytes += file.text.len();
            }
            encoding.inc(chunk.len() as u64);
            encoding.set_message(format!("{} tokens", stream.len()));
        }
        write_tokens(&options.out_dir.join(name), &stream, vocab_size)?;
        split_meta.push(SplitMeta { files: files.len(), bytes, tokens: stream.len() });
    }
    encoding.finish();
    let val_meta = split_meta.pop().expect("two splits");
    let train_meta = split_meta.pop().expect("two splits");

    let meta = DataMeta {
        input: options.input.display().to_string(),
        vocab_size,
        end_of_text_id: eot,
        token_width_bytes: width_for_vocab(vocab_size),
        tokenizer: tokenizer_source,
        val_fraction: options.val_fraction,
        strip_license_headers: options.corpus.strip_license_headers,
        include_prefixes: options.corpus.include_prefixes.clone(),
        train: train_meta,
        val: val_meta,
        corpus: stats,
        test: None,
        test_inputs: Vec::new(),
        dedup: None,
    };
    let meta_path = options.out_dir.join(META_FILE);
    let json = serde_json::to_string_pretty(&meta).expect("metadata serialises");
    std::fs::write(&meta_path, json + "\n").at(&meta_path)?;
    Ok(meta)
}

fn progress(show: bool, len: u64, template: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = if len == 0 { ProgressBar::new_spinner() } else { ProgressBar::new(len) };
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    bar
}
