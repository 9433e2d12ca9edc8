//! The training configuration, read from TOML.
//!
//! Every table rejects unknown keys, and every error names the key
//! (`optim.lr`), so a typo never silently falls back to a default.
//! Relative paths are taken relative to the current directory, like the
//! paths on the command line next to them.

use std::path::{Path, PathBuf};

use logitloom_engine::Gpt2Config;
use serde::Deserialize;

use crate::error::{Result, TrainerError};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub data: DataSection,
    #[serde(default)]
    pub model: ModelSection,
    #[serde(default)]
    pub optim: OptimSection,
    pub train: TrainSection,
    #[serde(default)]
    pub eval: EvalSection,
    pub out: OutSection,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// The output directory of `logitloom prepare`.
    pub dir: PathBuf,
}

/// A preset (`small`, `tiny`, `gpt2`, ...) and/or explicit sizes; explicit
/// sizes override the preset's. The vocabulary always comes from the data.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    pub preset: Option<String>,
    pub n_layer: Option<usize>,
    pub n_head: Option<usize>,
    pub n_embd: Option<usize>,
    /// Context length of training windows, and the model's `n_positions`.
    pub block_size: usize,
    /// One probability for embedding, attention and residual dropout.
    pub dropout: f64,
}

impl Default for ModelSection {
    fn default() -> Self {
        ModelSection { preset: None, n_layer: None, n_head: None, n_embd: None, block_size: 256, dropout: 0.0 }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OptimSection {
    /// Peak learning rate, reached after the warm-up.
    pub lr: f64,
    /// Learning rate at the end of the cosine decay (and after it).
    pub min_lr: f64,
    pub warmup_steps: usize,
    /// Steps over which the cosine runs; defaults to `train.max_steps`.
    pub decay_steps: Option<usize>,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Applied to 2-D weights only (matrices and embeddings), never to biases or LayerNorm.
    pub weight_decay: f64,
    /// Maximum global gradient norm; 0 disables clipping.
    pub grad_clip: f64,
}

impl Default for OptimSection {
    fn default() -> Self {
        OptimSection {
            lr: 6e-4,
            min_lr: 6e-5,
            warmup_steps: 100,
            decay_steps: None,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.1,
            grad_clip: 1.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    pub max_steps: usize,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    #[serde(default = "one")]
    pub grad_accum: usize,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    #[serde(default = "default_device")]
    pub device: String,
    /// `f32`, or `bf16` for bf16 autocast on CUDA (weights and optimizer stay f32).
    #[serde(default = "default_dtype")]
    pub dtype: String,
    /// libtorch intra-op threads on the CPU; unset = libtorch's default.
    #[serde(default)]
    pub threads: Option<usize>,
    /// Peak FLOP/s of the GPU for the MFU display (default: H100 dense bf16).
    #[serde(default = "default_peak_flops")]
    pub peak_flops: f64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EvalSection {
    /// Evaluate (and write the `last`/`best` checkpoints) every this many steps and at the end.
    pub interval: usize,
    /// Validation batches per evaluation (always the same batches, so evaluations compare).
    pub iters: usize,
}

impl Default for EvalSection {
    fn default() -> Self {
        EvalSection { interval: 100, iters: 20 }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutSection {
    /// The run directory: log, `last/` and `best/` checkpoints.
    pub dir: PathBuf,
}

fn default_batch_size() -> usize {
    16
}
fn one() -> usize {
    1
}
fn default_seed() -> u64 {
    1337
}
fn default_device() -> String {
    "auto".into()
}
fn default_dtype() -> String {
    "f32".into()
}
fn default_peak_flops() -> f64 {
    989e12
}

impl TrainConfig {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<TrainConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TrainerError::Config { path: path.to_owned(), reason: e.to_string() })?;
        TrainConfig::parse(&text, path)
    }

    /// Parses TOML text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<TrainConfig> {
        let config: TrainConfig = toml::from_str(text).map_err(|e| describe_toml_error(&e, text, path))?;
        config.validate(path)?;
        Ok(config)
    }

    /// Range checks that serde's types cannot express.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let out_of_range = |key: &str, value: String, reason: &str| {
            Err(TrainerError::ConfigValue { path: path.to_owned(), key: key.into(), value, reason: reason.into() })
        };
        let (m, o, t, e) = (&self.model, &self.optim, &self.train, &self.eval);
        let positive_counts = [
            ("model.block_size", m.block_size),
            ("train.max_steps", t.max_steps),
            ("train.batch_size", t.batch_size),
            ("train.grad_accum", t.grad_accum),
            ("eval.interval", e.interval),
            ("eval.iters", e.iters),
        ];
        for (key, value) in positive_counts {
            if value == 0 {
                return out_of_range(key, value.to_string(), "must be at least 1");
            }
        }
        for (key, value) in [("model.n_layer", m.n_layer), ("model.n_head", m.n_head), ("model.n_embd", m.n_embd)] {
            if value == Some(0) {
                return out_of_range(key, "0".into(), "must be at least 1");
            }
        }
        if !(0.0..1.0).contains(&m.dropout) {
            return out_of_range("model.dropout", m.dropout.to_string(), "must be in [0, 1)");
        }
        if !(o.lr > 0.0 && o.lr.is_finite()) {
            return out_of_range("optim.lr", o.lr.to_string(), "must be a positive number");
        }
        if !(0.0..=o.lr).contains(&o.min_lr) {
            return out_of_range("optim.min_lr", o.min_lr.to_string(), "must be in [0, optim.lr]");
        }
        for (key, beta) in [("optim.beta1", o.beta1), ("optim.beta2", o.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return out_of_range(key, beta.to_string(), "must be in [0, 1)");
            }
        }
        if o.eps.is_nan() || o.eps <= 0.0 {
            return out_of_range("optim.eps", o.eps.to_string(), "must be positive");
        }
        if o.weight_decay.is_nan() || o.weight_decay < 0.0 {
            return out_of_range("optim.weight_decay", o.weight_decay.to_string(), "must be at least 0");
        }
        if o.grad_clip.is_nan() || o.grad_clip < 0.0 {
            return out_of_range(
                "optim.grad_clip",
                o.grad_clip.to_string(),
                "must be at least 0 (0 disables clipping)",
            );
        }
        if o.warmup_steps > self.decay_steps() {
            return out_of_range(
                "optim.warmup_steps",
                o.warmup_steps.to_string(),
                "must not exceed the decay steps (optim.decay_steps or train.max_steps)",
            );
        }
        // `auto` is resolved when training starts (it may print a notice);
        // anything else must name a device that exists.
        if t.device != "auto" {
            logitloom_engine::parse_device(&t.device).map_err(|err| TrainerError::ConfigValue {
                path: path.to_owned(),
                key: "train.device".into(),
                value: format!("{:?}", t.device),
                reason: err.to_string(),
            })?;
        }
        match t.dtype.as_str() {
            "f32" => {}
            "bf16" if t.device != "cpu" => {}
            "bf16" => {
                return out_of_range(
                    "train.dtype",
                    "\"bf16\"".into(),
                    "bf16 autocast needs a CUDA device; use \"f32\" on the CPU",
                )
            }
            other => return out_of_range("train.dtype", format!("{other:?}"), "expected \"f32\" or \"bf16\""),
        }
        if t.threads == Some(0) {
            return out_of_range("train.threads", "0".into(), "must be at least 1");
        }
        self.model_shape(path)?;
        Ok(())
    }

    pub fn decay_steps(&self) -> usize {
        self.optim.decay_steps.unwrap_or(self.train.max_steps)
    }

    /// Tokens consumed by one optimizer step.
    pub fn tokens_per_step(&self) -> usize {
        self.train.batch_size * self.train.grad_accum * self.model.block_size
    }

    /// The model's hyper-parameters for the data's vocabulary;
    /// `<|endoftext|>` serves as both BOS and EOS, as in GPT-2.
    pub fn model_config(&self, vocab_size: usize, end_of_text_id: u32, path: &Path) -> Result<Gpt2Config> {
        let (n_layer, n_head, n_embd) = self.model_shape(path)?;
        let dropout = self.model.dropout;
        Ok(Gpt2Config {
            vocab_size,
            n_positions: self.model.block_size,
            n_embd,
            n_layer,
            n_head,
            layer_norm_epsilon: 1e-5,
            resid_pdrop: dropout,
            embd_pdrop: dropout,
            attn_pdrop: dropout,
            bos_token_id: end_of_text_id,
            eos_token_id: end_of_text_id,
        })
    }

    /// (n_layer, n_head, n_embd) from the preset and the explicit overrides.
    pub fn model_shape(&self, path: &Path) -> Result<(usize, usize, usize)> {
        let m = &self.model;
        let bad = |key: &str, value: String, reason: String| TrainerError::ConfigValue {
            path: path.to_owned(),
            key: key.into(),
            value,
            reason,
        };
        let base = match &m.preset {
            Some(name) => {
                Some(Gpt2Config::preset(name).map_err(|e| bad("model.preset", format!("{name:?}"), e.message()))?)
            }
            None => None,
        };
        let pick = |key: &str, explicit: Option<usize>, from_preset: Option<usize>| {
            explicit.or(from_preset).ok_or_else(|| bad(key, "missing".into(), "set it, or set model.preset".into()))
        };
        let n_layer = pick("model.n_layer", m.n_layer, base.as_ref().map(|c| c.n_layer))?;
        let n_head = pick("model.n_head", m.n_head, base.as_ref().map(|c| c.n_head))?;
        let n_embd = pick("model.n_embd", m.n_embd, base.as_ref().map(|c| c.n_embd))?;
        if n_embd % n_head != 0 {
            return Err(bad("model.n_head", n_head.to_string(), format!("must divide model.n_embd ({n_embd})")));
        }
        Ok((n_layer, n_head, n_embd))
    }
}

/// One line naming the key: toml's own message plus the dotted key found
/// at the error's position (toml reports a span, not the key path).
fn describe_toml_error(err: &toml::de::Error, text: &str, path: &Path) -> TrainerError {
    let message = err.message().trim().replace('\n', " ");
    match err.span() {
        Some(span) => {
            let line_number = text[..span.start].matches('\n').count() + 1;
            match key_at(text, span.start) {
                Some(key) => TrainerError::Config {
                    path: path.to_owned(),
                    reason: format!("line {line_number}, key `{key}`: {message}"),
                },
                None => {
                    TrainerError::Config { path: path.to_owned(), reason: format!("line {line_number}: {message}") }
                }
            }
        }
        None => TrainerError::Config { path: path.to_owned(), reason: message },
    }
}

/// The dotted key of the `key = value` line containing `offset`, prefixed
/// by the nearest `[table]` header above it.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[line_start..line_end].trim();
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(['[', ']']).trim().to_string());
    if line.starts_with('[') {
        return Some(line.trim_matches(['[', ']']).trim().to_string());
    }
    let key = line.split('=').next()?.trim();
    if key.is_empty() {
        return table;
    }
    Some(match table {
        Some(table) => format!("{table}.{key}"),
        None => key.to_string(),
    })
}
