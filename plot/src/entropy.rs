//! The entropy-against-position figure: the diagnostic people reach for
//! first when a generation goes wrong.
//!
//! Per sequence, a solid line is the entropy of the distribution the
//! sampler drew from (after the chain) and a lighter line the model's own
//! entropy (before the chain); the gap between them is what the chain cut
//! away. Spikes ([`crate::spikes`]) of the after-chain entropy are circled,
//! and the biggest are labelled with the token that was chosen there.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::spikes::{self, Spike, SpikeRule};
use crate::style::{colour, Figure, FONT, GRID_BOLD, GRID_LIGHT};
use crate::trace::Sequence;

/// Labels longer than this are cut (with an ellipsis) so they stay legible.
const MAX_LABEL_CHARS: usize = 16;

/// Built once from a trace; the spikes are found at construction, so the
/// fields they depend on are private.
pub struct EntropyFigure {
    title: String,
    sequences: Vec<Sequence>,
    rule: SpikeRule,
    /// How many of the biggest spikes get their token printed.
    annotate: usize,
    /// Spikes per sequence (parallel to `sequences`).
    spikes: Vec<Vec<Spike>>,
}

impl EntropyFigure {
    pub fn new(title: impl Into<String>, sequences: Vec<Sequence>, rule: SpikeRule, annotate: usize) -> Self {
        let spikes = sequences.iter().map(|s| spikes::find(&after(s), &rule)).collect();
        EntropyFigure { title: title.into(), sequences, rule, annotate, spikes }
    }

    pub fn sequences(&self) -> &[Sequence] {
        &self.sequences
    }

    /// `(sequence index, spike)` of every spike, in sequence then position order.
    pub fn spikes(&self) -> impl Iterator<Item = (usize, &Spike)> {
        self.spikes.iter().enumerate().flat_map(|(i, s)| s.iter().map(move |sp| (i, sp)))
    }

    /// The spikes to label: the `annotate` biggest by excess (ties: earlier first).
    fn labelled(&self) -> Vec<(usize, Spike)> {
        let mut all: Vec<(usize, Spike)> = self.spikes().map(|(i, s)| (i, *s)).collect();
        all.sort_by(|a, b| b.1.excess.total_cmp(&a.1.excess).then((a.0, a.1.index).cmp(&(b.0, b.1.index))));
        all.truncate(self.annotate);
        all
    }
}

fn after(s: &Sequence) -> Vec<f64> {
    s.points.iter().map(|p| p.after).collect()
}

/// A token as a label: quoted with escapes, so spaces and newlines show.
pub fn token_label(text: &str) -> String {
    let quoted = format!("{text:?}");
    if quoted.chars().count() <= MAX_LABEL_CHARS {
        return quoted;
    }
    let cut: String = quoted.chars().take(MAX_LABEL_CHARS - 1).collect();
    format!("{cut}…")
}

impl Figure for EntropyFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;

        let points = || self.sequences.iter().flat_map(|s| s.points.iter());
        let x_min = points().map(|p| p.pos).min().unwrap_or(0) as f64;
        let x_max = (points().map(|p| p.pos).max().unwrap_or(1) as f64).max(x_min + 1.0);
        let y_top = points().map(|p| p.after.max(p.before.unwrap_or(0.0))).fold(1.0, f64::max);
        // Headroom for the labels above the highest spikes and for the
        // legend, which would otherwise sit on a flat, high curve.
        let y_max = y_top * 1.35;
        let pad = (x_max - x_min) * 0.01;

        let (title_area, body) = root.split_vertically(58);
        title_area
            .draw(&Text::new(self.title.as_str(), (20, 10), (FONT, 24).into_font().style(FontStyle::Bold)))
            .map_err(e)?;
        let spike_count: usize = self.spikes.iter().map(Vec::len).sum();
        let tokens: usize = self.sequences.iter().map(|s| s.points.len()).sum();
        let subtitle = format!(
            "{} sequence{}, {tokens} tokens, {spike_count} spike{}  ·  spike: {}",
            self.sequences.len(),
            if self.sequences.len() == 1 { "" } else { "s" },
            if spike_count == 1 { "" } else { "s" },
            self.rule.describe()
        );
        title_area
            .draw(&Text::new(subtitle, (20, 38), (FONT, 14).into_font().color(&RGBColor(90, 90, 90))))
            .map_err(e)?;

        let mut chart = ChartBuilder::on(&body)
            .margin_left(16)
            .margin_right(24)
            .margin_bottom(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d((x_min - pad)..(x_max + pad), 0f64..y_max)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("position in sequence (tokens, prompt included)")
            .y_desc("entropy (nats)")
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 13))
            .bold_line_style(GRID_BOLD)
            .light_line_style(GRID_LIGHT)
            .x_labels(12)
            .y_labels(8)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.1}"))
            .draw()
            .map_err(e)?;

        let single = self.sequences.len() == 1;
        for (i, seq) in self.sequences.iter().enumerate() {
            let c = colour(i);
            let before: Vec<(f64, f64)> = seq.points.iter().filter_map(|p| Some((p.pos as f64, p.before?))).collect();
            if !before.is_empty() {
                let series = chart.draw_series(LineSeries::new(before, c.mix(0.35).stroke_width(1))).map_err(e)?;
                if single {
                    series
                        .label("before chain (model)")
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.mix(0.35).stroke_width(2)));
                }
            }
            let line = seq.points.iter().map(|p| (p.pos as f64, p.after));
            let label = if single { "after chain (sampled from)".to_string() } else { format!("seq {}", seq.seq) };
            chart
                .draw_series(LineSeries::new(line, c.stroke_width(2)))
                .map_err(e)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
            if single {
                // The running threshold, so a reader sees why a point counts.
                let values = after(seq);
                let threshold: Vec<(f64, f64)> = (0..values.len())
                    .filter_map(|j| Some((seq.points[j].pos as f64, self.rule.threshold_at(&values, j)?.min(y_max))))
                    .collect();
                let grey = RGBColor(150, 150, 150);
                chart
                    .draw_series(DashedLineSeries::new(threshold, 6, 4, grey.stroke_width(1)))
                    .map_err(e)?
                    .label("spike threshold")
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 8, y)], grey.stroke_width(1)));
            }
        }
        if !single {
            let grey = RGBColor(170, 170, 170);
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(e)?
                .label("lighter: before chain (model)")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(2)));
        }

        // Rewinds: a dashed line where the kept text was taken back to.
        let rewind_colour = RGBColor(230, 130, 20);
        let rewinds: Vec<f64> =
            self.sequences.iter().flat_map(|s| s.rewinds.iter().map(|r| r.to as f64 - 0.5)).collect();
        if !rewinds.is_empty() {
            for &x in &rewinds {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(x, 0.0), (x, y_top * 1.1)],
                        4,
                        3,
                        rewind_colour.stroke_width(1),
                    ))
                    .map_err(e)?;
            }
            chart
                .draw_series(rewinds.iter().map(|&x| TriangleMarker::new((x, y_top * 1.1), 6, rewind_colour.filled())))
                .map_err(e)?
                .label(format!("rewind ({}): text kept up to here", rewinds.len()))
                .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 5, rewind_colour.filled()));
        }

        let spike_colour = RGBColor(200, 30, 30);
        let marks: Vec<(f64, f64)> = self
            .spikes()
            .map(|(i, s)| {
                let p = &self.sequences[i].points[s.index];
                (p.pos as f64, p.after)
            })
            .collect();
        chart
            .draw_series(marks.into_iter().map(|pt| Circle::new(pt, 6, spike_colour.stroke_width(2))))
            .map_err(e)?
            .label("spike")
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, spike_colour.stroke_width(2)));

        let label_font = (FONT, 13).into_font().color(&RGBColor(40, 40, 40));
        // Boxes already placed, in pixels; a label that would overlap one is
        // lifted until it does not (neighbouring spikes are common).
        let mut placed: Vec<(i32, i32, i32, i32)> = Vec::new();
        for (i, s) in self.labelled() {
            let p = &self.sequences[i].points[s.index];
            let text = token_label(&p.text);
            let (width, _) = root.estimate_text_size(&text, &label_font).map_err(e)?;
            let half_width = width as i32 / 2 + 5;
            let (px, py) = chart.backend_coord(&(p.pos as f64, p.after));
            let mut lift = 0;
            let overlaps = |lift: i32, placed: &[(i32, i32, i32, i32)]| {
                let (l, r, t, b) = (px - half_width, px + half_width, py - 31 - lift, py - 11 - lift);
                placed.iter().any(|&(pl, pr, pt, pb)| l < pr && pl < r && t < pb && pt < b)
            };
            while overlaps(lift, &placed) && lift < 200 {
                lift += 22;
            }
            placed.push((px - half_width, px + half_width, py - 31 - lift, py - 11 - lift));
            let anchor = EmptyElement::at((p.pos as f64, p.after))
                + PathElement::new(vec![(0, -6), (0, -11 - lift)], spike_colour.mix(0.6).stroke_width(1))
                + Rectangle::new([(-half_width, -31 - lift), (half_width, -11 - lift)], WHITE.mix(0.9).filled())
                + Rectangle::new(
                    [(-half_width, -31 - lift), (half_width, -11 - lift)],
                    spike_colour.mix(0.6).stroke_width(1),
                )
                + Text::new(text, (-half_width + 5, -28 - lift), label_font.clone());
            chart.plotting_area().draw(&anchor).map_err(e)?;
        }

        chart
            .configure_series_labels()
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(180, 180, 180))
            .position(SeriesLabelPosition::UpperRight)
            .margin(10)
            .draw()
            .map_err(e)?;
        Ok(())
    }
}
