//! Shared fixtures: the checked-in corpus, prepared once per test into a
//! temporary directory, and a tiny model config that trains in seconds.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use logitloom_trainer::corpus::CorpusOptions;
use logitloom_trainer::{prepare, DataMeta, PrepareOptions, TrainConfig};

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/java-corpus")
}

pub const TEST_VOCAB: usize = 512;

/// Prepares the test corpus into `out` with a 512-token BPE.
pub fn prepare_corpus(out: &Path) -> DataMeta {
    prepare(&PrepareOptions {
        input: corpus_dir(),
        out_dir: out.to_owned(),
        vocab_size: TEST_VOCAB,
        tokenizer: None,
        val_fraction: 0.15,
        corpus: CorpusOptions { include_prefixes: vec![], strip_license_headers: true },
        show_progress: false,
    })
    .expect("the test corpus prepares")
}

/// A 2-layer, 32-wide model on 32-token windows, no dropout, CPU, one thread.
pub fn tiny_config(data_dir: &Path, run_dir: &Path, max_steps: usize) -> TrainConfig {
    let text = format!(
        r#"
[data]
dir = "{data}"
[model]
n_layer = 2
n_head = 2
n_embd = 32
block_size = 32
[optim]
lr = 1e-2
min_lr = 1e-3
warmup_steps = {warmup}
[train]
max_steps = {max_steps}
batch_size = 8
seed = 7
device = "cpu"
threads = 1
[eval]
interval = 25
iters = 4
[out]
dir = "{run}"
"#,
        warmup = max_steps.min(10),
        data = data_dir.display(),
        run = run_dir.display()
    );
    TrainConfig::parse(&text, Path::new("tiny.toml")).expect("the tiny config is valid")
}
