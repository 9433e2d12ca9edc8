//! Learning-rate schedule: linear warm-up, then cosine decay to `min_lr`.

use std::f64::consts::PI;

/// The learning rate of 0-based `step`, as in nanoGPT: warm-up reaches `lr`
/// at step `warmup`, the cosine reaches `min_lr` at `decay_steps` and stays.
pub fn learning_rate(step: usize, lr: f64, min_lr: f64, warmup: usize, decay_steps: usize) -> f64 {
    if step < warmup {
        return lr * (step + 1) as f64 / (warmup + 1) as f64;
    }
    if step >= decay_steps {
        return min_lr;
    }
    let progress = (step - warmup) as f64 / (decay_steps - warmup).max(1) as f64;
    min_lr + 0.5 * (1.0 + (PI * progress).cos()) * (lr - min_lr)
}

#[cfg(test)]
mod tests {
    use super::learning_rate;

    #[test]
    fn warms_up_then_decays_to_the_floor() {
        // Warm-up of 4: step s gives lr * (s+1)/5.
        assert_eq!(learning_rate(0, 1.0, 0.1, 4, 14), 0.2);
        assert_eq!(learning_rate(3, 1.0, 0.1, 4, 14), 0.8);
        // First decay step is the peak; the middle of the cosine is the average of peak and floor.
        assert_eq!(learning_rate(4, 1.0, 0.1, 4, 14), 1.0);
        assert!((learning_rate(9, 1.0, 0.1, 4, 14) - 0.55).abs() < 1e-12);
        assert_eq!(learning_rate(14, 1.0, 0.1, 4, 14), 0.1);
        assert_eq!(learning_rate(100, 1.0, 0.1, 4, 14), 0.1);
    }
}
