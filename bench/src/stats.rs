//! Means and 95% intervals for the per-chain summary.
//!
//! Continuous metrics get Student's t interval (a chain has a handful to a
//! few hundred generations, so the normal approximation would be too narrow
//! for the small committed runs). Rates (collapsed, compiles, parses) get the
//! Wilson score interval, which stays inside [0, 1] and is sensible at 0 and
//! 100%.

use serde::Serialize;

/// A mean with its 95% interval; `low == high == mean` for a single value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    pub n: usize,
}

/// Two-sided 97.5% quantiles of Student's t for 1..=30 degrees of freedom.
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

fn t_quantile(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T_975[df - 1],
        31..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// Mean and t interval; `None` for no values.
pub fn mean_interval(values: &[f64]) -> Option<Estimate> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Some(Estimate { mean, low: mean, high: mean, n });
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t_quantile(n - 1) * (variance / n as f64).sqrt();
    Some(Estimate { mean, low: mean - half, high: mean + half, n })
}

/// Share of `true` and its Wilson interval; `None` for no values.
pub fn rate_interval(values: &[bool]) -> Option<Estimate> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let z = 1.959964;
    let nf = n as f64;
    let p = values.iter().filter(|&&v| v).count() as f64 / nf;
    let denom = 1.0 + z * z / nf;
    let centre = (p + z * z / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt() / denom;
    Some(Estimate { mean: p, low: (centre - half).max(0.0), high: (centre + half).min(1.0), n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_interval_matches_hand_computation() {
        // mean 3, sample variance 2.5, n 5: half = 2.776 * sqrt(0.5) = 1.96293...
        let e = mean_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(e.mean, 3.0);
        assert!((e.high - 3.0 - 2.776 * 0.5f64.sqrt()).abs() < 1e-12);
        assert!((e.low - (3.0 - 2.776 * 0.5f64.sqrt())).abs() < 1e-12);
        assert_eq!(mean_interval(&[]), None);
        assert_eq!(mean_interval(&[7.0]).unwrap().low, 7.0);
    }

    #[test]
    fn wilson_interval_matches_hand_computation() {
        // 0 of 10: centre = (z²/20)/(1+z²/10), half = z*sqrt(z²/400)/(1+z²/10) -> [0, 0.2775]
        let e = rate_interval(&[false; 10]).unwrap();
        assert_eq!((e.mean, e.low), (0.0, 0.0));
        assert!((e.high - 0.27753).abs() < 1e-4, "{}", e.high);
        // 5 of 10 is symmetric around 0.5: [0.2366, 0.7634]
        let half: Vec<bool> = (0..10).map(|i| i % 2 == 0).collect();
        let e = rate_interval(&half).unwrap();
        assert!((e.low - 0.23659).abs() < 1e-4 && (e.high - 0.76341).abs() < 1e-4, "{e:?}");
    }
}
