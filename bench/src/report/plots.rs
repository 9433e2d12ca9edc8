//! The report's figures, drawn in the shared `logitloom-plot` style
//! (embedded font, colour-blind-safe palette) and each written as PNG and
//! SVG; the SVG text is also returned for inlining into report.html.

use std::path::Path;

use logitloom_plot::style::{self, colour, Figure, FONT};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::BenchError;

/// Writes `stem.png` and `stem.svg` into `dir`; returns the SVG text.
pub fn save(figure: &impl Figure, dir: &Path, stem: &str) -> Result<String, BenchError> {
    let fail = |e: logitloom_plot::PlotError| BenchError::Plot { what: stem.to_string(), message: e.to_string() };
    style::save(figure, &dir.join(format!("{stem}.png"))).map_err(fail)?;
    let svg_path = dir.join(format!("{stem}.svg"));
    style::save(figure, &svg_path).map_err(fail)?;
    std::fs::read_to_string(&svg_path).map_err(|source| BenchError::Read { path: svg_path, cause: source })
}

/// One chain's mean entropy curve and where its generations' first syntax
/// errors fall.
pub struct EntropyCurve {
    pub chain: String,
    /// Mean entropy at each position over the generations that reached it.
    pub mean: Vec<f64>,
    pub first_errors: Vec<usize>,
}

pub struct EntropyFigure {
    pub title: String,
    pub curves: Vec<EntropyCurve>,
}

impl Figure for EntropyFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let max_x = self.curves.iter().map(|c| c.mean.len()).max().unwrap_or(0).max(2) as f64;
        let max_y = self.curves.iter().flat_map(|c| c.mean.iter().copied()).fold(0.5, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..max_x, 0f64..max_y)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("generated token position (triangles: first syntax error)")
            .y_desc("mean entropy (nats)")
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(e)?;
        for (i, curve) in self.curves.iter().enumerate() {
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(
                    curve.mean.iter().enumerate().map(|(x, &y)| (x as f64, y)),
                    c.stroke_width(2),
                ))
                .map_err(e)?
                .label(curve.chain.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3)));
            let marks = curve.first_errors.iter().filter_map(|&p| curve.mean.get(p).map(|&y| (p as f64, y)));
            chart.draw_series(marks.map(|pt| TriangleMarker::new(pt, 5, c.filled()))).map_err(e)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(e)?;
        Ok(())
    }
}

/// Horizontal bars: two rates per chain.
pub struct RatesFigure {
    pub title: String,
    pub chains: Vec<String>,
    /// `(label, value per chain in [0, 1])`, drawn as side-by-side bars.
    pub rates: Vec<(String, Vec<Option<f64>>)>,
}

fn label_area(chains: &[String]) -> u32 {
    chains.iter().map(|c| c.chars().count()).max().unwrap_or(4) as u32 * 9 + 16
}

/// Formats the y axis of a per-chain figure: chain `i` sits at `y = i`.
fn chain_label(chains: &[String], y: f64) -> String {
    let i = y.round();
    if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < chains.len() {
        chains[i as usize].clone()
    } else {
        String::new()
    }
}

impl Figure for RatesFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let n = self.chains.len();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(label_area(&self.chains))
            .build_cartesian_2d(0f64..100f64, (n as f64 - 0.5)..-0.5f64)
            .map_err(e)?;
        let fmt = |y: &f64| chain_label(&self.chains, *y);
        chart
            .configure_mesh()
            .y_labels(n + 1)
            .y_label_formatter(&fmt)
            .x_desc("% of generations")
            .disable_y_mesh()
            .draw()
            .map_err(e)?;
        let k = self.rates.len().max(1) as f64;
        let height = 0.8 / k;
        for (j, (label, values)) in self.rates.iter().enumerate() {
            let c = colour(j);
            let bars = values.iter().enumerate().filter_map(|(i, v)| {
                let top = i as f64 - 0.4 + j as f64 * height;
                v.map(|v| Rectangle::new([(0.0, top), (v * 100.0, top + height * 0.9)], c.filled()))
            });
            chart
                .draw_series(bars)
                .map_err(e)?
                .label(label.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(e)?;
        Ok(())
    }
}

/// A strip plot: each collapse onset (and entropy spike) as a point on its
/// chain's row.
pub struct OnsetFigure {
    pub title: String,
    pub chains: Vec<String>,
    pub loop_onsets: Vec<Vec<usize>>,
    pub spike_onsets: Vec<Vec<usize>>,
    pub max_position: usize,
}

impl Figure for OnsetFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let n = self.chains.len();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(label_area(&self.chains))
            .build_cartesian_2d(0f64..self.max_position.max(2) as f64, (n as f64 - 0.5)..-0.5f64)
            .map_err(e)?;
        let fmt = |y: &f64| chain_label(&self.chains, *y);
        chart
            .configure_mesh()
            .y_labels(n + 1)
            .y_label_formatter(&fmt)
            .x_desc("generated token position")
            .disable_y_mesh()
            .draw()
            .map_err(e)?;
        // A small deterministic vertical offset keeps equal positions visible.
        let jitter = |k: usize| ((k * 7919) % 11) as f64 / 11.0 * 0.3 - 0.15;
        let loops = colour(5);
        let spikes = colour(0);
        let loop_points: Vec<(f64, f64)> = self
            .loop_onsets
            .iter()
            .enumerate()
            .flat_map(|(i, xs)| xs.iter().enumerate().map(move |(k, &x)| (x as f64, i as f64 - 0.12 + jitter(k) * 0.5)))
            .collect();
        let spike_points: Vec<(f64, f64)> = self
            .spike_onsets
            .iter()
            .enumerate()
            .flat_map(|(i, xs)| xs.iter().enumerate().map(move |(k, &x)| (x as f64, i as f64 + 0.18 + jitter(k) * 0.5)))
            .collect();
        chart
            .draw_series(loop_points.into_iter().map(|p| Circle::new(p, 4, loops.filled())))
            .map_err(e)?
            .label("loop onset (rest of sequence is a loop)")
            .legend(move |(x, y)| Circle::new((x + 7, y), 4, loops.filled()));
        chart
            .draw_series(spike_points.into_iter().map(|p| Cross::new(p, 4, spikes.stroke_width(2))))
            .map_err(e)?
            .label("first entropy spike")
            .legend(move |(x, y)| Cross::new((x + 7, y), 4, spikes.stroke_width(2)));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(e)?;
        Ok(())
    }
}
