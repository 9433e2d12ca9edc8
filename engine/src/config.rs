//! Model hyper-parameters, read from and written to Hugging Face's
//! `config.json` (GPT2Config keys), with named presets.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::EngineError;

/// GPT-2 hyper-parameters. Field names are Hugging Face's, so a
/// `config.json` from a downloaded `gpt2` snapshot parses as is; unknown
/// keys there (e.g. `task_specific_params`) are ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gpt2Config {
    pub vocab_size: usize,
    /// Context length: the number of learned positions.
    pub n_positions: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    #[serde(default)]
    pub resid_pdrop: f64,
    #[serde(default)]
    pub embd_pdrop: f64,
    #[serde(default)]
    pub attn_pdrop: f64,
    #[serde(default = "default_eos")]
    pub bos_token_id: u32,
    #[serde(default = "default_eos")]
    pub eos_token_id: u32,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_eos() -> u32 {
    50256
}

impl Gpt2Config {
    /// Named presets: `gpt2` (124M), `small` (4 x 256, the size where
    /// per-step overhead dominates), `tiny` (for tests).
    pub fn preset(name: &str) -> Result<Gpt2Config, EngineError> {
        let (n_layer, n_head, n_embd, vocab_size, n_positions) = match name {
            "gpt2" => (12, 12, 768, 50257, 1024),
            "gpt2-medium" => (24, 16, 1024, 50257, 1024),
            "small" => (4, 4, 256, 50257, 1024),
            "tiny" => (2, 2, 32, 256, 64),
            other => {
                return Err(EngineError::Config(format!(
                    "unknown model preset `{other}` (known: gpt2, gpt2-medium, small, tiny)"
                )))
            }
        };
        Ok(Gpt2Config {
            vocab_size,
            n_positions,
            n_embd,
            n_layer,
            n_head,
            layer_norm_epsilon: 1e-5,
            resid_pdrop: 0.0,
            embd_pdrop: 0.0,
            attn_pdrop: 0.0,
            bos_token_id: vocab_size as u32 - 1,
            eos_token_id: vocab_size as u32 - 1,
        })
    }

    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }

    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |msg: String| Err(EngineError::Config(msg));
        for (key, value) in [
            ("vocab_size", self.vocab_size),
            ("n_positions", self.n_positions),
            ("n_embd", self.n_embd),
            ("n_layer", self.n_layer),
            ("n_head", self.n_head),
        ] {
            if value == 0 {
                return bad(format!("`{key}` must be at least 1"));
            }
        }
        if !self.n_embd.is_multiple_of(self.n_head) {
            return bad(format!("`n_embd` ({}) must be divisible by `n_head` ({})", self.n_embd, self.n_head));
        }
        for (key, p) in
            [("resid_pdrop", self.resid_pdrop), ("embd_pdrop", self.embd_pdrop), ("attn_pdrop", self.attn_pdrop)]
        {
            if !(0.0..1.0).contains(&p) {
                return bad(format!("`{key}` must be in [0, 1), got {p}"));
            }
        }
        if self.eos_token_id as usize >= self.vocab_size {
            return bad(format!(
                "`eos_token_id` {} is outside the vocabulary ({})",
                self.eos_token_id, self.vocab_size
            ));
        }
        Ok(())
    }

    /// How many weights a model of this shape has (tied LM head counted
    /// once), or `None` when the count does not fit a `usize`: a config can
    /// name any sizes, and the loader must compare them with the weights
    /// file before allocating anything.
    pub fn parameter_count(&self) -> Option<usize> {
        let e = self.n_embd;
        let mul = |a: usize, b: usize| a.checked_mul(b);
        let per_layer = [
            mul(2, e)?,                                   // ln_1
            mul(e, mul(3, e)?)?.checked_add(mul(3, e)?)?, // c_attn
            mul(e, e)?.checked_add(e)?,                   // attn.c_proj
            mul(2, e)?,                                   // ln_2
            mul(e, mul(4, e)?)?.checked_add(mul(4, e)?)?, // c_fc
            mul(mul(4, e)?, e)?.checked_add(e)?,          // mlp.c_proj
        ]
        .into_iter()
        .try_fold(0usize, usize::checked_add)?;
        [mul(self.vocab_size, e)?, mul(self.n_positions, e)?, mul(self.n_layer, per_layer)?, mul(2, e)?]
            .into_iter()
            .try_fold(0usize, usize::checked_add)
    }

    /// Reads and validates `config.json`; errors name the file and the key.
    pub fn from_file(path: &Path) -> Result<Gpt2Config, EngineError> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
        let config: Gpt2Config =
            serde_json::from_str(&text).map_err(|e| EngineError::Config(format!("{}: {e}", path.display())))?;
        config.validate().map_err(|e| EngineError::Config(format!("{}: {}", path.display(), e.message())))?;
        Ok(config)
    }

    /// The `config.json` Hugging Face `transformers` loads as a GPT2Config.
    pub fn to_hf_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("config serializes");
        let obj = v.as_object_mut().expect("config is an object");
        obj.insert("model_type".into(), "gpt2".into());
        obj.insert("architectures".into(), serde_json::json!(["GPT2LMHeadModel"]));
        obj.insert("activation_function".into(), "gelu_new".into());
        obj.insert("n_ctx".into(), self.n_positions.into());
        obj.insert("tie_word_embeddings".into(), true.into());
        obj.insert("scale_attn_weights".into(), true.into());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hugging_face_gpt2_config() {
        // The keys of the real openai-community/gpt2 config.json (abridged).
        let json = r#"{"activation_function":"gelu_new","architectures":["GPT2LMHeadModel"],
            "attn_pdrop":0.1,"bos_token_id":50256,"embd_pdrop":0.1,"eos_token_id":50256,
            "initializer_range":0.02,"layer_norm_epsilon":1e-05,"model_type":"gpt2","n_ctx":1024,
            "n_embd":768,"n_head":12,"n_layer":12,"n_positions":1024,"resid_pdrop":0.1,
            "task_specific_params":{"text-generation":{"do_sample":true,"max_length":50}},
            "vocab_size":50257}"#;
        let c: Gpt2Config = serde_json::from_str(json).unwrap();
        assert_eq!(
            c,
            Gpt2Config {
                resid_pdrop: 0.1,
                embd_pdrop: 0.1,
                attn_pdrop: 0.1,
                bos_token_id: 50256,
                eos_token_id: 50256,
                ..Gpt2Config::preset("gpt2").unwrap()
            }
        );
        assert_eq!(c.head_dim(), 64);
    }

    #[test]
    fn rejects_indivisible_heads() {
        let c = Gpt2Config { n_head: 5, ..Gpt2Config::preset("tiny").unwrap() };
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "invalid model config: `n_embd` (32) must be divisible by `n_head` (5)"
        );
    }
}
