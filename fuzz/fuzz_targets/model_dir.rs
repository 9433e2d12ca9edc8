//! The model directory loader (`Model::load`): `config.json` as raw text
//! or as a config with fuzzed sizes, `model.safetensors` as a valid tiny
//! file then truncated, patched or given a lying header length, and a
//! `tokenizer.json` that is mostly not one. Each is refused with an error
//! or loaded; nothing panics or allocates what the files do not hold.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use logitloom_engine::hf::{save_weights, CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE};
use logitloom_engine::{Gpt2, Gpt2Config, Model};
use tch::nn::VarStore;
use tch::{Device, Kind};

/// One layer, 4 wide, 8 tokens: the weights the fuzzed files start from.
fn tiny() -> Gpt2Config {
    let mut c = Gpt2Config::preset("tiny").unwrap();
    (c.n_layer, c.n_head, c.n_embd, c.vocab_size, c.n_positions, c.eos_token_id, c.bos_token_id) = (1, 1, 4, 8, 4, 7, 7);
    c
}

fn valid_weights() -> &'static Vec<u8> {
    static WEIGHTS: OnceLock<Vec<u8>> = OnceLock::new();
    WEIGHTS.get_or_init(|| {
        let vs = VarStore::new(Device::Cpu);
        let _gpt = Gpt2::new(&vs.root(), &tiny());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(WEIGHTS_FILE);
        save_weights(&vs, &file, Kind::Float).unwrap();
        std::fs::read(file).unwrap()
    })
}

fn tokenizer() -> &'static Vec<u8> {
    static TOKENIZER: OnceLock<Vec<u8>> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default").join(TOKENIZER_FILE)).unwrap()
    })
}

#[derive(Arbitrary, Debug)]
enum ConfigFile {
    Raw(String),
    Sizes { vocab_size: u64, n_positions: u64, n_embd: u64, n_layer: u64, n_head: u64, eos: u64 },
    Tiny,
}

#[derive(Arbitrary, Debug)]
enum WeightsFile {
    Valid,
    Truncate(u32),
    HeaderLen(u64),
    Patch(Vec<(u16, u8)>),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum TokenizerFile {
    Real,
    Cut(u32),
    Raw(Vec<u8>),
}

fuzz_target!(|data: &[u8]| {
    let Ok((config, weights, tokenizer_file)) = <(ConfigFile, WeightsFile, TokenizerFile)>::arbitrary(&mut Unstructured::new(data)) else { return };
    let config = match config {
        ConfigFile::Raw(text) => text,
        ConfigFile::Tiny => serde_json::to_string(&tiny().to_hf_json()).unwrap(),
        ConfigFile::Sizes { vocab_size, n_positions, n_embd, n_layer, n_head, eos } => serde_json::json!({
            "vocab_size": vocab_size, "n_positions": n_positions, "n_embd": n_embd,
            "n_layer": n_layer, "n_head": n_head, "eos_token_id": eos, "bos_token_id": eos,
        })
        .to_string(),
    };
    let valid = valid_weights();
    let weights = match weights {
        WeightsFile::Valid => valid.clone(),
        WeightsFile::Truncate(n) => valid[..(n as usize).min(valid.len())].to_vec(),
        WeightsFile::HeaderLen(len) => {
            let mut w = valid.clone();
            w[..8].copy_from_slice(&len.to_le_bytes());
            w
        }
        WeightsFile::Patch(edits) => {
            let mut w = valid.clone();
            for (at, byte) in edits {
                let at = at as usize % w.len();
                w[at] = byte;
            }
            w
        }
        WeightsFile::Raw(bytes) => bytes,
    };
    let real = tokenizer();
    let tokenizer_bytes = match tokenizer_file {
        TokenizerFile::Real => real.clone(),
        TokenizerFile::Cut(n) => real[..(n as usize).min(real.len())].to_vec(),
        TokenizerFile::Raw(bytes) => bytes,
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(CONFIG_FILE), config).unwrap();
    std::fs::write(dir.path().join(WEIGHTS_FILE), weights).unwrap();
    std::fs::write(dir.path().join(TOKENIZER_FILE), tokenizer_bytes).unwrap();
    let _ = Model::load(dir.path(), Device::Cpu, Kind::Float);
});
