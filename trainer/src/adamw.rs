//! AdamW on plain tensors, so its moments can be saved and restored.
//!
//! The update is PyTorch's single-tensor `AdamW` (what `torch.optim.AdamW`
//! runs on CPU tensors): decoupled weight decay, then bias-corrected Adam.
//! Only two scalar products are ordered differently from PyTorch's fused
//! `addcmul`/`addcdiv` (tch exposes them without the `value` argument),
//! which changes results in the last bits, not the trajectory.

use std::collections::HashMap;

use tch::{Kind, Tensor};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWSettings {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

struct ParamState {
    name: String,
    param: Tensor,
    decay: bool,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
}

pub struct AdamW {
    settings: AdamWSettings,
    params: Vec<ParamState>,
    /// Updates applied so far (PyTorch's `state['step']`).
    pub steps_taken: u64,
}

impl AdamW {
    /// Tracks every variable of `vs`, in name order so state files are
    /// deterministic. Weight decay applies to 2-D tensors only: matrices
    /// and embeddings, never biases or LayerNorm gains.
    pub fn new(variables: HashMap<String, Tensor>, settings: AdamWSettings) -> AdamW {
        let mut named: Vec<(String, Tensor)> = variables.into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let params = named
            .into_iter()
            .map(|(name, param)| ParamState {
                decay: param.dim() == 2,
                exp_avg: param.zeros_like(),
                exp_avg_sq: param.zeros_like(),
                name,
                param,
            })
            .collect();
        AdamW { settings, params, steps_taken: 0 }
    }

    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.param.zero_grad();
        }
    }

    /// Scales gradients so their global L2 norm is at most `max_norm`, the
    /// way `torch.nn.utils.clip_grad_norm_` does; returns the norm before clipping.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> f64 {
        let grads: Vec<Tensor> = self.params.iter().map(|p| p.param.grad()).filter(|g| g.defined()).collect();
        if grads.is_empty() {
            return 0.0;
        }
        let norms: Vec<Tensor> = grads.iter().map(|g| g.norm()).collect();
        let total = Tensor::stack(&norms, 0).norm();
        let total_norm = total.double_value(&[]);
        if max_norm > 0.0 {
            let coef = (max_norm / (total_norm + 1e-6)).min(1.0);
            tch::no_grad(|| {
                for mut g in grads {
                    let _ = g.g_mul_scalar_(coef);
                }
            });
        }
        total_norm
    }

    /// One update at learning rate `lr`. Parameters without a gradient are left alone.
    pub fn step(&mut self, lr: f64) {
        self.steps_taken += 1;
        let AdamWSettings { beta1, beta2, eps, weight_decay } = self.settings;
        let bias_correction1 = 1.0 - beta1.powi(self.steps_taken as i32);
        let bias_correction2_sqrt = (1.0 - beta2.powi(self.steps_taken as i32)).sqrt();
        let step_size = lr / bias_correction1;
        tch::no_grad(|| {
            for p in &mut self.params {
                let grad = p.param.grad();
                if !grad.defined() {
                    continue;
                }
                if p.decay && weight_decay != 0.0 {
                    let _ = p.param.g_mul_scalar_(1.0 - lr * weight_decay);
                }
                let _ = p.exp_avg.lerp_(&grad, 1.0 - beta1);
                let _ = p.exp_avg_sq.g_mul_scalar_(beta2);
                let _ = p.exp_avg_sq.addcmul_(&grad, &(&grad * (1.0 - beta2)));
                let mut denom = p.exp_avg_sq.sqrt() / bias_correction2_sqrt;
                let _ = denom.g_add_scalar_(eps);
                let _ = p.param.addcdiv_(&(&p.exp_avg * -step_size), &denom);
            }
        });
    }

    /// `exp_avg.{name}` and `exp_avg_sq.{name}` for every parameter, for safetensors.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.params.len());
        for p in &self.params {
            out.push((format!("exp_avg.{}", p.name), p.exp_avg.to_kind(Kind::Float)));
            out.push((format!("exp_avg_sq.{}", p.name), p.exp_avg_sq.to_kind(Kind::Float)));
        }
        out
    }

    /// Restores moments written by [`AdamW::state_tensors`]; the error names
    /// the first missing or misshapen tensor.
    pub fn load_state(&mut self, tensors: Vec<(String, Tensor)>, steps_taken: u64) -> Result<(), String> {
        let mut by_name: HashMap<String, Tensor> = tensors.into_iter().collect();
        for p in &mut self.params {
            for (prefix, target) in [("exp_avg", &mut p.exp_avg), ("exp_avg_sq", &mut p.exp_avg_sq)] {
                let key = format!("{prefix}.{}", p.name);
                let source = by_name.remove(&key).ok_or_else(|| format!("optimizer state lacks `{key}`"))?;
                if source.size() != target.size() {
                    return Err(format!(
                        "optimizer tensor `{key}` has shape {:?}, the model needs {:?}",
                        source.size(),
                        target.size()
                    ));
                }
                tch::no_grad(|| target.copy_(&source.to_kind(target.kind()).to_device(target.device())));
            }
        }
        if let Some(extra) = by_name.keys().next() {
            return Err(format!("optimizer state has `{extra}`, which the model lacks"));
        }
        self.steps_taken = steps_taken;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(values: &[f32], shape: &[i64]) -> Tensor {
        Tensor::from_slice(values).view(shape).set_requires_grad(true)
    }

    #[test]
    fn first_step_moves_by_lr_and_decays_only_matrices() {
        let matrix = param(&[1.0], &[1, 1]);
        let bias = param(&[1.0], &[1]);
        let variables: HashMap<String, Tensor> =
            [("w".to_string(), matrix.shallow_clone()), ("b".to_string(), bias.shallow_clone())].into();
        let settings = AdamWSettings { beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1 };
        let mut adamw = AdamW::new(variables, settings);
        (matrix.sum(Kind::Float) * 0.5 + bias.sum(Kind::Float) * 0.5).backward();
        adamw.step(0.1);
        // Bias-corrected first step: m_hat = g = 0.5, v_hat = g^2 = 0.25, update = lr * 0.5 / 0.5 = 0.1.
        // The matrix is first decayed: 1 * (1 - 0.1 * 0.1) = 0.99.
        assert!((matrix.double_value(&[0, 0]) - 0.89).abs() < 1e-6, "{}", matrix.double_value(&[0, 0]));
        assert!((bias.double_value(&[0]) - 0.9).abs() < 1e-6, "{}", bias.double_value(&[0]));
        assert_eq!(adamw.steps_taken, 1);
    }

    #[test]
    fn clipping_scales_the_global_norm_to_the_limit() {
        let a = param(&[0.0], &[1]);
        let b = param(&[0.0], &[1]);
        let variables: HashMap<String, Tensor> =
            [("a".to_string(), a.shallow_clone()), ("b".to_string(), b.shallow_clone())].into();
        let mut adamw = AdamW::new(variables, AdamWSettings { beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.0 });
        (a.sum(Kind::Float) * 3.0 + b.sum(Kind::Float) * 4.0).backward();
        let norm = adamw.clip_grad_norm(1.0);
        assert!((norm - 5.0).abs() < 1e-6);
        assert!((a.grad().double_value(&[0]) - 0.6).abs() < 1e-6);
        assert!((b.grad().double_value(&[0]) - 0.8).abs() < 1e-6);
    }
}
