//! The Hugging Face model-directory layout: `config.json`,
//! `model.safetensors`, `tokenizer.json`.
//!
//! HF's GPT-2 keeps its dense layers as `Conv1D`, whose weight is the
//! transpose of `nn.Linear`'s. We store `nn.Linear` orientation in memory
//! (one `addmm` per layer) and transpose on the way in and out, so the
//! files stay byte-compatible with `transformers`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::{EngineError, Gpt2, Gpt2Config};

pub const CONFIG_FILE: &str = "config.json";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// Weights HF stores as Conv1D (`[in, out]`).
fn is_conv1d(name: &str) -> bool {
    name.ends_with(".weight")
        && ["attn.c_attn.", "attn.c_proj.", "mlp.c_fc.", "mlp.c_proj."].iter().any(|s| name.contains(s))
}

/// Buffers and tied copies that HF checkpoints may carry and we derive.
fn is_ignorable(name: &str) -> bool {
    name == "lm_head.weight" || name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias")
}

/// Reads `config.json`, creates the model on `device` and copies the weights in, converted to `kind`.
pub fn load_model_dir(dir: &Path, device: Device, kind: Kind) -> Result<(Gpt2Config, VarStore, Gpt2), EngineError> {
    if !dir.is_dir() {
        return Err(EngineError::MissingModelDir(dir.to_path_buf()));
    }
    let config = Gpt2Config::from_file(&dir.join(CONFIG_FILE))?;
    check_weights_can_hold(&config, &dir.join(WEIGHTS_FILE))?;
    let mut vs = VarStore::new(device);
    let gpt = Gpt2::new(&vs.root(), &config);
    load_weights(&vs, &dir.join(WEIGHTS_FILE))?;
    vs.set_kind(kind);
    vs.freeze();
    Ok((config, vs, gpt))
}

/// Refuses a `config.json` that describes more weights than the weights
/// file could hold (one byte per weight, the smallest dtype), before
/// `Gpt2::new` allocates them: a corrupt or hostile config would otherwise
/// ask for terabytes, and the process would die instead of saying which
/// file is wrong. A missing file is left to `load_weights` to report.
fn check_weights_can_hold(config: &Gpt2Config, file: &Path) -> Result<(), EngineError> {
    let Ok(meta) = std::fs::metadata(file) else { return Ok(()) };
    let file_bytes = meta.len();
    let count = config.parameter_count();
    if count.is_none_or(|n| n as u64 > file_bytes) {
        let described = count.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string());
        return Err(EngineError::Config(format!(
            "{}: describes a model of {described} weights (vocab_size {}, n_positions {}, n_embd {}, n_layer {}), \
             but {} holds only {file_bytes} bytes",
            file.with_file_name(CONFIG_FILE).display(),
            config.vocab_size,
            config.n_positions,
            config.n_embd,
            config.n_layer,
            file.display()
        )));
    }
    Ok(())
}

/// Copies an HF-layout safetensors file into `vs`, checking every name and shape.
pub fn load_weights(vs: &VarStore, file: &Path) -> Result<(), EngineError> {
    if !file.exists() {
        return Err(EngineError::Weights { file: file.to_path_buf(), message: "file does not exist".into() });
    }
    let tensors = Tensor::read_safetensors(file).map_err(|e| EngineError::Weights {
        file: file.to_path_buf(),
        message: format!("not a readable safetensors file ({e})"),
    })?;
    let mut vars: HashMap<String, Tensor> = vs.variables();
    let mut seen = std::collections::HashSet::new();
    for (raw_name, tensor) in tensors {
        let name = raw_name.strip_prefix("transformer.").unwrap_or(&raw_name).to_string();
        if is_ignorable(&name) {
            continue;
        }
        let Some(var) = vars.get_mut(&name) else {
            return Err(EngineError::Weights {
                file: file.to_path_buf(),
                message: format!("unexpected tensor `{raw_name}`"),
            });
        };
        let mut expected = var.size();
        if is_conv1d(&name) {
            expected.reverse();
        }
        if tensor.size() != expected {
            return Err(EngineError::ShapeMismatch {
                file: file.to_path_buf(),
                name: raw_name,
                found: tensor.size(),
                expected,
            });
        }
        let source = if is_conv1d(&name) { tensor.tr() } else { tensor };
        tch::no_grad(|| var.copy_(&source.to_kind(var.kind()).to_device(var.device())));
        seen.insert(name);
    }
    let mut missing: Vec<&String> = vars.keys().filter(|n| !seen.contains(*n)).collect();
    missing.sort();
    if let Some(name) = missing.first() {
        return Err(EngineError::MissingTensor { file: file.to_path_buf(), name: (*name).clone() });
    }
    Ok(())
}

/// Writes `vs` as an HF-layout `model.safetensors` in `kind`, atomically
/// (temporary file, then rename).
pub fn save_weights(vs: &VarStore, file: &Path, kind: Kind) -> Result<(), EngineError> {
    let vars: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
    let mut buffers: Vec<(String, Vec<usize>, safetensors::Dtype, Vec<u8>)> = Vec::with_capacity(vars.len());
    for (name, var) in &vars {
        let t = if is_conv1d(name) { var.tr() } else { var.shallow_clone() };
        let t = t.to_kind(kind).to_device(Device::Cpu).contiguous();
        let numel = t.numel();
        let mut bytes = vec![0u8; numel * kind.elt_size_in_bytes()];
        t.copy_data_u8(&mut bytes, numel);
        let dtype = match kind {
            Kind::Float => safetensors::Dtype::F32,
            Kind::Half => safetensors::Dtype::F16,
            Kind::BFloat16 => safetensors::Dtype::BF16,
            other => return Err(EngineError::Config(format!("cannot save weights as {other:?}"))),
        };
        let shape = t.size().iter().map(|&d| d as usize).collect();
        buffers.push((name.clone(), shape, dtype, bytes));
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = buffers
        .iter()
        .map(|(name, shape, dtype, bytes)| {
            let view =
                safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes).expect("consistent tensor view");
            (name.clone(), view)
        })
        .collect();
    // transformers refuses safetensors files without this metadata.
    let metadata: HashMap<String, String> = [("format".to_string(), "pt".to_string())].into();
    let data = safetensors::tensor::serialize(views, &Some(metadata))
        .map_err(|e| EngineError::Weights { file: file.to_path_buf(), message: e.to_string() })?;
    write_atomically(file, &data)
}

/// Writes a complete model directory: config, weights in `kind`, tokenizer.
pub fn save_model_dir(
    dir: &Path,
    config: &Gpt2Config,
    vs: &VarStore,
    tokenizer_json: &[u8],
    kind: Kind,
) -> Result<(), EngineError> {
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    let config_text = serde_json::to_string_pretty(&config.to_hf_json()).expect("json");
    write_atomically(&dir.join(CONFIG_FILE), config_text.as_bytes())?;
    write_atomically(&dir.join(TOKENIZER_FILE), tokenizer_json)?;
    save_weights(vs, &dir.join(WEIGHTS_FILE), kind)
}

/// Temporary file in the same directory, then rename: a reader never sees
/// a half-written file, and a crash leaves the old one intact.
pub fn write_atomically(path: &Path, data: &[u8]) -> Result<(), EngineError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, data).map_err(|e| EngineError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| EngineError::io(path, e))
}
