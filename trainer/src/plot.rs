//! `logitloom plot-loss`: train and validation loss against tokens seen,
//! and a verdict on whether validation loss was still falling at the end.
//!
//! The look (font, palette, grid, PNG/SVG by extension) is the shared one
//! of `logitloom-plot`.

use std::fmt;
use std::path::Path;

use logitloom_plot::style::{self, colour, Figure, FONT, GRID_BOLD, GRID_LIGHT};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Result, TrainerError};
use crate::log::{read_log, LogRecord, LOG_FILE};
/// A validation loss that falls by more than this (nats) over the judged
/// tail is "still falling"; smaller changes are evaluation noise.
const STILL_FALLING_NATS: f64 = 0.01;

/// What the end of a run says about training longer.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Validation loss fell by `drop` nats over the last `fraction` of tokens: undertrained.
    StillFalling { drop: f64, fraction: f64 },
    /// It changed by `change` nats (negative = fell) over that span: flat or rising.
    Flat { change: f64, fraction: f64 },
    /// Fewer than three evaluations in the tail.
    TooFewEvaluations { count: usize },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::StillFalling { drop, fraction } => write!(
                f,
                "validation loss is still falling: down {drop:.3} nats over the last {:.0}% of tokens; the model is undertrained, train longer",
                fraction * 100.0
            ),
            Verdict::Flat { change, fraction } => write!(
                f,
                "validation loss has flattened: changed {change:+.3} nats over the last {:.0}% of tokens; more steps at this size will help little",
                fraction * 100.0
            ),
            Verdict::TooFewEvaluations { count } => {
                write!(f, "cannot tell whether validation loss is still falling: only {count} evaluation(s) in the judged tail (need 3)")
            }
        }
    }
}

/// Judges the evaluations `(tokens, val_loss)` in the last `fraction` of
/// the run by a least-squares line through them, which is less fooled by
/// one noisy evaluation than comparing the first and last points.
pub fn judge(evals: &[(f64, f64)], fraction: f64) -> Verdict {
    let Some(&(end, _)) = evals.last() else {
        return Verdict::TooFewEvaluations { count: 0 };
    };
    let start = end * (1.0 - fraction);
    let tail: Vec<(f64, f64)> = evals.iter().copied().filter(|&(t, _)| t >= start).collect();
    if tail.len() < 3 {
        return Verdict::TooFewEvaluations { count: tail.len() };
    }
    let n = tail.len() as f64;
    let mean_x = tail.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = tail.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = tail.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = tail.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let change = sxy / sxx * (tail[tail.len() - 1].0 - tail[0].0);
    if -change > STILL_FALLING_NATS {
        Verdict::StillFalling { drop: -change, fraction }
    } else {
        Verdict::Flat { change, fraction }
    }
}

/// Reads `RUN_DIR/log.jsonl`, draws `output` (.png or .svg) and returns the verdict.
pub fn plot_loss(run_dir: &Path, output: &Path, tail_fraction: f64) -> Result<Verdict> {
    let fail = |reason: String| TrainerError::Plot { path: output.to_owned(), reason };
    if !(tail_fraction > 0.0 && tail_fraction <= 1.0) {
        return Err(fail(format!("tail fraction {tail_fraction} must be in (0, 1]")));
    }
    let records = read_log(&run_dir.join(LOG_FILE))?;
    let mut train = Vec::new();
    let mut val = Vec::new();
    for record in &records {
        match *record {
            LogRecord::Train { tokens, loss, .. } => train.push((tokens as f64, loss)),
            LogRecord::Eval { tokens, val_loss, .. } => val.push((tokens as f64, val_loss)),
        }
    }
    if train.is_empty() {
        return Err(TrainerError::Log { path: run_dir.join(LOG_FILE), reason: "holds no training steps".into() });
    }
    let verdict = judge(&val, tail_fraction);
    let headline = match &verdict {
        Verdict::StillFalling { .. } => "validation loss still falling: undertrained",
        Verdict::Flat { .. } => "validation loss flattened",
        Verdict::TooFewEvaluations { .. } => "too few evaluations to judge the trend",
    };
    let figure = LossFigure { title: format!("Loss against tokens seen: {headline}"), train, val };
    style::save(&figure, output).map_err(|e| fail(e.to_string()))?;
    Ok(verdict)
}

/// Train loss per step (raw points and a moving average) and validation loss per evaluation.
pub struct LossFigure {
    pub title: String,
    /// (tokens seen, loss)
    pub train: Vec<(f64, f64)>,
    pub val: Vec<(f64, f64)>,
}

/// Per-step losses are noisy; an exponential moving average (as TensorBoard
/// draws) shows the trend, and the raw points stay visible underneath.
fn smoothed(points: &[(f64, f64)], weight: f64) -> Vec<(f64, f64)> {
    let Some(&(_, first)) = points.first() else { return Vec::new() };
    let mut average = first;
    points
        .iter()
        .map(|&(x, y)| {
            average = weight * average + (1.0 - weight) * y;
            (x, average)
        })
        .collect()
}

impl Figure for LossFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let err = |e: &dyn fmt::Display| e.to_string();
        let (train, val) = (&self.train, &self.val);
        let (train_colour, val_colour) = (colour(0), colour(1));
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let max_tokens = train.iter().chain(val).map(|p| p.0).fold(1.0, f64::max);
        let (low, high) = train
            .iter()
            .chain(val)
            .map(|p| p.1)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
        let pad = ((high - low) * 0.05).max(0.01);
        let (scale, unit) = if max_tokens >= 1e6 { (1e6, "M") } else { (1e3, "k") };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..max_tokens / scale, (low - pad)..(high + pad))
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .bold_line_style(GRID_BOLD)
            .light_line_style(GRID_LIGHT)
            .x_desc(format!("tokens seen ({unit})"))
            .y_desc("cross-entropy (nats/token)")
            .label_style((FONT, 16))
            .draw()
            .map_err(|e| err(&e))?;
        let faint = train_colour.mix(0.25);
        chart
            .draw_series(train.iter().map(|&(x, y)| Circle::new((x / scale, y), 1, faint.filled())))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(LineSeries::new(
                smoothed(train, 0.9).into_iter().map(|(x, y)| (x / scale, y)),
                train_colour.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label("train (moving average; dots: each step)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], train_colour.stroke_width(2)));
        if !val.is_empty() {
            chart
                .draw_series(LineSeries::new(val.iter().map(|&(x, y)| (x / scale, y)), val_colour.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label("validation")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], val_colour.stroke_width(2)));
            chart
                .draw_series(val.iter().map(|&(x, y)| Circle::new((x / scale, y), 4, val_colour.filled())))
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, 16))
            .draw()
            .map_err(|e| err(&e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_fall_is_undertrained_and_a_plateau_is_not() {
        // Falls 0.1 nats per 100 tokens: over the last half (tokens 500..=1000) the line drops 0.5.
        let falling: Vec<(f64, f64)> = (0..=10).map(|i| (i as f64 * 100.0, 5.0 - 0.001 * i as f64 * 100.0)).collect();
        match judge(&falling, 0.5) {
            Verdict::StillFalling { drop, .. } => assert!((drop - 0.5).abs() < 1e-9, "drop {drop}"),
            other => panic!("expected still falling, got {other:?}"),
        }
        let plateau: Vec<(f64, f64)> = (0..=10).map(|i| (i as f64, if i < 5 { 5.0 - i as f64 } else { 1.0 })).collect();
        assert_eq!(judge(&plateau, 0.5), Verdict::Flat { change: 0.0, fraction: 0.5 });
        assert_eq!(judge(&falling[..2], 0.5), Verdict::TooFewEvaluations { count: 1 });
    }
}
