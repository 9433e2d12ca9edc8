//! A model directory that is corrupt or lies about itself is refused with
//! one line naming the file, before anything is allocated for it; the
//! cases come from fuzzing the loader (fuzz/fuzz_targets/model_dir.rs,
//! docs/reliability.md).

use std::path::Path;

use logitloom_engine::hf::{load_model_dir, save_model_dir, CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE};
use logitloom_engine::{Gpt2, Gpt2Config, Model};
use tch::nn::VarStore;
use tch::{Device, Kind};

/// A valid `tiny` model directory; the tokenizer is the default model's.
fn tiny_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = Gpt2Config::preset("tiny").unwrap();
    let vs = VarStore::new(Device::Cpu);
    let _gpt = Gpt2::new(&vs.root(), &config);
    let tokenizer = std::fs::read(Model::default_dir().join(TOKENIZER_FILE))
        .expect("the default model's tokenizer.json is in the repository");
    save_model_dir(dir.path(), &config, &vs, &tokenizer, Kind::Float).unwrap();
    dir
}

fn load_error(dir: &Path) -> String {
    match load_model_dir(dir, Device::Cpu, Kind::Float) {
        Ok(_) => panic!("{} must be refused", dir.display()),
        Err(e) => e.to_string(),
    }
}

fn edit_config(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join(CONFIG_FILE);
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut json);
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
}

#[test]
fn the_valid_directory_loads() {
    let dir = tiny_dir();
    let (config, _, _) = load_model_dir(dir.path(), Device::Cpu, Kind::Float).unwrap();
    assert_eq!(config, Gpt2Config::preset("tiny").unwrap());
}

#[test]
fn a_config_bigger_than_its_weights_is_refused_before_allocating() {
    // 2^20 x 2^20 embeddings would be 4 TiB of f32: allocating first would kill the process.
    for (key, value) in
        [("n_embd", 1u64 << 20), ("vocab_size", 1 << 40), ("n_layer", 1 << 30), ("n_positions", 1 << 33)]
    {
        let dir = tiny_dir();
        edit_config(dir.path(), |c| {
            c[key] = value.into();
            if key == "n_embd" {
                c["n_head"] = 1.into();
            }
        });
        let text = load_error(dir.path());
        assert!(
            text.contains(CONFIG_FILE) && text.contains(WEIGHTS_FILE) && text.contains("holds only"),
            "{key}: {text}"
        );
    }
}

#[test]
fn sizes_whose_weight_count_overflows_are_refused() {
    let dir = tiny_dir();
    edit_config(dir.path(), |c| {
        c["n_embd"] = (1u64 << 62).into();
        c["n_head"] = 1.into();
    });
    let text = load_error(dir.path());
    assert!(text.contains("more than 2^64 weights"), "{text}");
}

#[test]
fn a_corrupt_config_names_the_file() {
    let dir = tiny_dir();
    for bad in ["", "{", "[1,2]", "{\"vocab_size\": -1}", "\u{0}\u{ff}"] {
        std::fs::write(dir.path().join(CONFIG_FILE), bad).unwrap();
        let text = load_error(dir.path());
        assert!(text.contains(CONFIG_FILE), "{bad:?}: {text}");
    }
}

#[test]
fn truncated_or_lying_weights_are_refused() {
    let dir = tiny_dir();
    let weights = dir.path().join(WEIGHTS_FILE);
    let good = std::fs::read(&weights).unwrap();
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("header cut", good[..8 + header_len / 2].to_vec()),
        ("data cut", good[..good.len() - 100].to_vec()),
    ];
    let mut lying = good.clone();
    lying[..8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    cases.push(("header length past the file", lying));
    let mut lying = good.clone();
    lying[..8].copy_from_slice(&((header_len + 64) as u64).to_le_bytes());
    cases.push(("header length into the data", lying));
    for (what, bytes) in cases {
        std::fs::write(&weights, &bytes).unwrap();
        let text = load_error(dir.path());
        assert!(text.contains(WEIGHTS_FILE) || text.contains(CONFIG_FILE), "{what}: {text}");
    }
}

#[test]
fn a_tokenizer_file_that_is_not_one_is_refused() {
    let dir = tiny_dir();
    for bad in ["", "not json", "{}", "{\"model\": 5}"] {
        std::fs::write(dir.path().join(TOKENIZER_FILE), bad).unwrap();
        match Model::load(dir.path(), Device::Cpu, Kind::Float) {
            Ok(_) => panic!("{bad:?} accepted as a tokenizer"),
            Err(e) => assert!(e.to_string().starts_with("tokenizer"), "{bad:?}: {e}"),
        }
    }
}

/// Found by the `model_dir` fuzz target: `tokenizers` 0.22 panics (an
/// `expect` in its decoder deserializer) on a tokenizer.json cut short
/// inside its `decoder`, as an interrupted download leaves it. Every cut
/// of the real file must be an error naming the file, never a panic.
#[test]
fn a_truncated_tokenizer_file_is_an_error_not_a_panic() {
    let dir = tiny_dir();
    let path = dir.path().join(TOKENIZER_FILE);
    let whole = std::fs::read(&path).unwrap();
    // Every cut through the head, where `decoder` and the other small
    // sections sit, then coarser ones through the vocabulary.
    let cuts = (0..2_000).chain((2_000..whole.len()).step_by(997));
    for cut in cuts {
        std::fs::write(&path, &whole[..cut]).unwrap();
        let result = std::panic::catch_unwind(|| logitloom_engine::tokenizer::read_tokenizer_json(&path));
        match result {
            Err(_) => panic!("reading a tokenizer.json cut at byte {cut} panicked"),
            Ok(Ok(_)) => panic!("a tokenizer.json cut at byte {cut} was accepted"),
            Ok(Err(e)) => assert!(e.contains(TOKENIZER_FILE), "cut {cut}: {e}"),
        }
    }
    std::fs::write(&path, &whole[..443.min(whole.len())]).unwrap();
    let e = Model::load(dir.path(), Device::Cpu, Kind::Float).err().expect("a cut tokenizer must be refused");
    assert!(e.to_string().contains("invalid JSON"), "{e}");
}
