//! Checkpoints that survive interruption.
//!
//! A checkpoint is written completely into `.NAME.tmp/` next to its final
//! place, then swapped in with two renames: `NAME -> .NAME.old`, `.NAME.tmp ->
//! NAME` (Linux cannot rename a directory over a non-empty one). A failure
//! before the swap leaves `NAME` untouched; a crash between the two renames
//! leaves `.NAME.old`, which [`resolve`] puts back. So some complete
//! checkpoint is always on disk.
//!
//! Contents: a model directory in the engine's Hugging Face layout (so
//! `logitloom generate --model DIR` and `transformers` load it as is) plus
//! `optimizer.safetensors` (AdamW moments) and `trainer_state.json`.

use std::path::{Path, PathBuf};

use logitloom_engine::{hf, Gpt2Config};
use tch::nn::VarStore;
use tch::{Kind, Tensor};

use crate::adamw::AdamW;
use crate::error::{IoContext, Result, TrainerError};

pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
pub const STATE_FILE: &str = "trainer_state.json";
pub const LAST: &str = "last";
pub const BEST: &str = "best";

/// Where training stands; enough, with the weights and moments, to continue exactly.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct TrainerState {
    /// Optimizer steps completed; the next step to run.
    pub step: usize,
    pub tokens_seen: u64,
    pub best_val_loss: Option<f64>,
    pub last_val_loss: Option<f64>,
    /// The batch generator's seed; batches are a function of (seed, step).
    pub seed: u64,
    /// The TOML the run was started with, for the record.
    pub config_toml: String,
}

/// Writes `parent/name` atomically: `fill` populates a fresh temporary
/// directory, which replaces the old checkpoint only if `fill` succeeded.
pub fn write_atomically(parent: &Path, name: &str, fill: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
    let final_dir = parent.join(name);
    let tmp = parent.join(format!(".{name}.tmp"));
    let old = parent.join(format!(".{name}.old"));
    resolve(parent, name)?;
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).at(&tmp)?;
    }
    std::fs::create_dir_all(&tmp).map_err(|cause| TrainerError::NotWritable { path: parent.to_owned(), cause })?;
    if let Err(err) = fill(&tmp).and_then(|()| sync_dir_files(&tmp)) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(err);
    }
    if final_dir.exists() {
        std::fs::rename(&final_dir, &old).at(&final_dir)?;
    }
    std::fs::rename(&tmp, &final_dir).at(&final_dir)?;
    if old.exists() {
        std::fs::remove_dir_all(&old).at(&old)?;
    }
    sync_dir(parent)?;
    Ok(final_dir)
}

/// The checkpoint `parent/name` if one exists, repairing a swap that a
/// crash cut between its two renames.
pub fn resolve(parent: &Path, name: &str) -> Result<Option<PathBuf>> {
    let final_dir = parent.join(name);
    let old = parent.join(format!(".{name}.old"));
    if final_dir.is_dir() {
        if old.exists() {
            std::fs::remove_dir_all(&old).at(&old)?;
        }
        return Ok(Some(final_dir));
    }
    if old.is_dir() {
        std::fs::rename(&old, &final_dir).at(&final_dir)?;
        return Ok(Some(final_dir));
    }
    Ok(None)
}

/// Fails early, with the directory named, when `dir` cannot take checkpoints.
pub fn ensure_writable(dir: &Path) -> Result<()> {
    let not_writable = |cause| TrainerError::NotWritable { path: dir.to_owned(), cause };
    std::fs::create_dir_all(dir).map_err(not_writable)?;
    let probe = dir.join(".write-probe");
    std::fs::write(&probe, b"").map_err(not_writable)?;
    std::fs::remove_file(&probe).map_err(not_writable)
}

/// Saves weights (f32, so a resumed run continues bit for bit), optimizer and state.
pub fn save(
    parent: &Path,
    name: &str,
    config: &Gpt2Config,
    vs: &VarStore,
    tokenizer_json: &[u8],
    optimizer: &AdamW,
    state: &TrainerState,
) -> Result<PathBuf> {
    write_atomically(parent, name, |dir| {
        hf::save_model_dir(dir, config, vs, tokenizer_json, Kind::Float)?;
        let optimizer_path = dir.join(OPTIMIZER_FILE);
        Tensor::write_safetensors(&optimizer.state_tensors(), &optimizer_path)
            .map_err(|e| TrainerError::Checkpoint { path: optimizer_path.clone(), reason: e.to_string() })?;
        let state_path = dir.join(STATE_FILE);
        std::fs::write(&state_path, serde_json::to_string_pretty(state).expect("state serialises") + "\n")
            .at(&state_path)
    })
}

/// The model shape a checkpoint holds, for comparison with the config before loading.
pub fn read_model_config(dir: &Path) -> Result<Gpt2Config> {
    Ok(Gpt2Config::from_file(&dir.join(hf::CONFIG_FILE))?)
}

/// Loads weights into `vs` and moments into `optimizer`; returns the state.
pub fn load(dir: &Path, vs: &VarStore, optimizer: &mut AdamW) -> Result<TrainerState> {
    let bad = |path: PathBuf, reason: String| TrainerError::Checkpoint { path, reason };
    let state_path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&state_path).at(&state_path)?;
    let state: TrainerState = serde_json::from_str(&text).map_err(|e| bad(state_path.clone(), e.to_string()))?;
    hf::load_weights(vs, &dir.join(hf::WEIGHTS_FILE))?;
    let optimizer_path = dir.join(OPTIMIZER_FILE);
    let tensors = Tensor::read_safetensors(&optimizer_path).map_err(|e| bad(optimizer_path.clone(), e.to_string()))?;
    optimizer.load_state(tensors, state.step as u64).map_err(|reason| bad(optimizer_path, reason))?;
    Ok(state)
}

fn sync_dir_files(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).at(dir)? {
        let path = entry.at(dir)?.path();
        std::fs::File::open(&path).and_then(|f| f.sync_all()).at(&path)?;
    }
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|f| f.sync_all()).at(dir)
}
