//! GPT-2's layers, one struct each, every one with `new` (create or load
//! its variables under a `tch::nn::Path`) and `forward`.
//!
//! Variable names mirror Hugging Face's without the `transformer.` prefix,
//! so loading a checkpoint is a rename-free copy (plus the Conv1D
//! transpose, see [`crate::hf`]).

use tch::nn::{self, Init};
use tch::{Kind, Tensor};

use crate::Gpt2Config;

/// GPT-2's initialisation: N(0, 0.02), with residual projections scaled by
/// 1/sqrt(2 * n_layer) (the GPT-2 paper, as in nanoGPT).
fn normal(std: f64) -> Init {
    Init::Randn { mean: 0.0, stdev: std }
}

/// A dense layer. Weights are stored `[out, in]` (PyTorch `nn.Linear`
/// orientation) so `forward` is one `addmm`.
pub struct Linear {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Linear {
    pub fn new(p: &nn::Path, in_dim: usize, out_dim: usize, init_std: f64) -> Linear {
        Linear {
            weight: p.var("weight", &[out_dim as i64, in_dim as i64], normal(init_std)),
            bias: p.zeros("bias", &[out_dim as i64]),
        }
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, Some(&self.bias))
    }
}

pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub(crate) eps: f64,
    dim: i64,
}

impl LayerNorm {
    pub fn new(p: &nn::Path, dim: usize, eps: f64) -> LayerNorm {
        LayerNorm {
            weight: p.ones("weight", &[dim as i64]),
            bias: p.zeros("bias", &[dim as i64]),
            eps,
            dim: dim as i64,
        }
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.layer_norm([self.dim], Some(&self.weight), Some(&self.bias), self.eps, true)
    }
}

/// Where the keys/values of one attention call go.
pub enum AttentionCache<'a> {
    /// Training or scoring: attend causally within the input only.
    None,
    /// Generation: write this call's keys/values into the layer's slice of
    /// the cache and attend to everything cached for each row.
    Layer { keys: &'a mut Tensor, values: &'a mut Tensor, write: &'a CacheWrite },
}

/// How a forward call lines up with the cache, computed once per call and
/// shared by every layer.
pub enum CacheWrite {
    /// Every row starts at the same position `start` and appends `len`
    /// tokens. `start == 0` is a prefill.
    Uniform { start: usize, len: usize },
    /// One token per row, each at its own position (`positions`, `[B]`).
    /// `index` is `positions` broadcast for the scatter, `mask` hides each
    /// row's stale entries, `window` is the longest row plus one.
    Ragged { index: Tensor, mask: Tensor, window: usize },
}

pub struct CausalSelfAttention {
    pub(crate) c_attn: Linear,
    pub(crate) c_proj: Linear,
    n_head: i64,
    head_dim: i64,
    attn_pdrop: f64,
    resid_pdrop: f64,
}

impl CausalSelfAttention {
    pub fn new(p: &nn::Path, cfg: &Gpt2Config) -> Self {
        let resid_std = 0.02 / (2.0 * cfg.n_layer as f64).sqrt();
        CausalSelfAttention {
            c_attn: Linear::new(&(p / "c_attn"), cfg.n_embd, 3 * cfg.n_embd, 0.02),
            c_proj: Linear::new(&(p / "c_proj"), cfg.n_embd, cfg.n_embd, resid_std),
            n_head: cfg.n_head as i64,
            head_dim: cfg.head_dim() as i64,
            attn_pdrop: cfg.attn_pdrop,
            resid_pdrop: cfg.resid_pdrop,
        }
    }

    pub fn forward(&self, x: &Tensor, cache: AttentionCache<'_>, train: bool) -> Tensor {
        let (b, t, c) = x.size3().expect("attention input is [B, T, C]");
        let heads = |z: Tensor| z.view([b, t, self.n_head, self.head_dim]).transpose(1, 2);
        let qkv = self.c_attn.forward(x).split(c, 2);
        let (q, k, v) = (heads(qkv[0].shallow_clone()), heads(qkv[1].shallow_clone()), heads(qkv[2].shallow_clone()));
        let dropout = if train { self.attn_pdrop } else { 0.0 };
        let y = match cache {
            AttentionCache::None => {
                Tensor::scaled_dot_product_attention::<Tensor>(&q, &k, &v, None, dropout, true, None, false)
            }
            AttentionCache::Layer { keys, values, write } => match write {
                CacheWrite::Uniform { start, len } => {
                    let (start, len) = (*start as i64, *len as i64);
                    keys.narrow(2, start, len).copy_(&k);
                    values.narrow(2, start, len).copy_(&v);
                    let k_all = keys.narrow(2, 0, start + len);
                    let v_all = values.narrow(2, 0, start + len);
                    if start == 0 || len == 1 {
                        // Prefill: plain causal. Single-token decode: the new
                        // query may see every cached position.
                        Tensor::scaled_dot_product_attention::<Tensor>(
                            &q,
                            &k_all,
                            &v_all,
                            None,
                            0.0,
                            start == 0 && len > 1,
                            None,
                            false,
                        )
                    } else {
                        // A chunk appended after cached context: query i sees
                        // keys up to start + i.
                        let mask = Tensor::ones([len, start + len], (Kind::Bool, x.device())).tril(start);
                        Tensor::scaled_dot_product_attention(&q, &k_all, &v_all, Some(&mask), 0.0, false, None, false)
                    }
                }
                CacheWrite::Ragged { index, mask, window } => {
                    let expand = index.expand([b, self.n_head, 1, self.head_dim], false);
                    let _ = keys.scatter_(2, &expand, &k);
                    let _ = values.scatter_(2, &expand, &v);
                    let w = *window as i64;
                    Tensor::scaled_dot_product_attention(
                        &q,
                        &keys.narrow(2, 0, w),
                        &values.narrow(2, 0, w),
                        Some(mask),
                        0.0,
                        false,
                        None,
                        false,
                    )
                }
            },
        };
        let y = y.transpose(1, 2).contiguous().view([b, t, c]);
        self.c_proj.forward(&y).dropout(self.resid_pdrop, train)
    }
}

pub struct Mlp {
    pub(crate) c_fc: Linear,
    pub(crate) c_proj: Linear,
    resid_pdrop: f64,
}

impl Mlp {
    pub fn new(p: &nn::Path, cfg: &Gpt2Config) -> Self {
        let resid_std = 0.02 / (2.0 * cfg.n_layer as f64).sqrt();
        Mlp {
            c_fc: Linear::new(&(p / "c_fc"), cfg.n_embd, 4 * cfg.n_embd, 0.02),
            c_proj: Linear::new(&(p / "c_proj"), 4 * cfg.n_embd, cfg.n_embd, resid_std),
            resid_pdrop: cfg.resid_pdrop,
        }
    }
    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        // GPT-2's "gelu_new" is the tanh approximation.
        self.c_proj.forward(&self.c_fc.forward(x).gelu("tanh")).dropout(self.resid_pdrop, train)
    }
}

/// A pre-LayerNorm transformer block.
pub struct Block {
    pub(crate) ln_1: LayerNorm,
    pub(crate) attn: CausalSelfAttention,
    pub(crate) ln_2: LayerNorm,
    pub(crate) mlp: Mlp,
}

impl Block {
    pub fn new(p: &nn::Path, cfg: &Gpt2Config) -> Self {
        Block {
            ln_1: LayerNorm::new(&(p / "ln_1"), cfg.n_embd, cfg.layer_norm_epsilon),
            attn: CausalSelfAttention::new(&(p / "attn"), cfg),
            ln_2: LayerNorm::new(&(p / "ln_2"), cfg.n_embd, cfg.layer_norm_epsilon),
            mlp: Mlp::new(&(p / "mlp"), cfg),
        }
    }
    pub fn forward(&self, x: &Tensor, cache: AttentionCache<'_>, train: bool) -> Tensor {
        let x = x + self.attn.forward(&self.ln_1.forward(x), cache, train);
        let h = self.mlp.forward(&self.ln_2.forward(&x), train);
        x + h
    }
}
