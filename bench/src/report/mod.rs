//! The report: `report.md` (tables), `report.html` (the same, self-contained
//! with inline SVG figures) and the figures as PNG and SVG.

mod html;
mod markdown;
pub mod plots;
pub mod summary;

use std::path::Path;

use crate::error::BenchError;
use crate::record::Record;
use crate::suite::Suite;
use plots::{EntropyCurve, EntropyFigure, OnsetFigure, RatesFigure};
use summary::ChainSummary;

/// Facts about the run that the report quotes.
#[derive(Clone, Debug, Default)]
pub struct RunMeta {
    /// The exact command line.
    pub command: String,
    pub git_commit: String,
}

/// What the report shows for one model.
pub struct ModelSection {
    pub model: String,
    pub model_dir: String,
    pub summaries: Vec<ChainSummary>,
    /// `(title, file stem, inline SVG)`.
    pub figures: Vec<(String, String, String)>,
}

pub fn write_report(suite: &Suite, records: &[Record], meta: &RunMeta, out: &Path) -> Result<(), BenchError> {
    let chains: Vec<String> = suite.chains.iter().map(|c| c.name.clone()).collect();
    let mut sections = Vec::new();
    for model in &suite.models {
        let mine: Vec<&Record> = records.iter().filter(|r| r.model == model.name).collect();
        let summaries = summary::summarise(&chains, &mine);
        let figures = figures(&model.name, &chains, &mine, out)?;
        sections.push(ModelSection {
            model: model.name.clone(),
            model_dir: model.dir.display().to_string(),
            summaries,
            figures,
        });
    }
    let md = markdown::render(suite, meta, &sections);
    let md_path = out.join("report.md");
    std::fs::write(&md_path, md).map_err(|source| BenchError::Write { path: md_path, cause: source })?;
    let html = html::render(suite, meta, &sections);
    let html_path = out.join("report.html");
    std::fs::write(&html_path, html).map_err(|source| BenchError::Write { path: html_path, cause: source })
}

fn figures(
    model: &str,
    chains: &[String],
    records: &[&Record],
    out: &Path,
) -> Result<Vec<(String, String, String)>, BenchError> {
    fn of_chain<'a>(
        records: &'a [&'a Record],
        chain: &'a str,
    ) -> impl Iterator<Item = &'a crate::record::Measured> + 'a {
        records.iter().filter(move |r| r.chain == chain).filter_map(|r| r.measured())
    }
    let mut figures = Vec::new();

    let curves = chains
        .iter()
        .map(|chain| {
            let mut sums: Vec<(f64, usize)> = Vec::new();
            let mut first_errors = Vec::new();
            for m in of_chain(records, chain) {
                for (i, &h) in m.generated.entropy.iter().enumerate() {
                    if sums.len() <= i {
                        sums.resize(i + 1, (0.0, 0));
                    }
                    sums[i].0 += h as f64;
                    sums[i].1 += 1;
                }
                first_errors.extend(m.java.first_error_token);
            }
            EntropyCurve { chain: chain.clone(), mean: sums.iter().map(|(s, n)| s / *n as f64).collect(), first_errors }
        })
        .collect();
    let title = format!("Entropy by position, model {model}");
    let stem = format!("entropy-{model}");
    let svg = plots::save(&EntropyFigure { title: title.clone(), curves }, out, &stem)?;
    figures.push((title, stem, svg));

    let rate_of = |chain: &str, f: &dyn Fn(&crate::record::Measured) -> Option<bool>| {
        let values: Vec<bool> = of_chain(records, chain).filter_map(f).collect();
        (!values.is_empty()).then(|| values.iter().filter(|&&v| v).count() as f64 / values.len() as f64)
    };
    let rates = vec![
        (
            "collapsed (tail loop)".to_string(),
            chains.iter().map(|c| rate_of(c, &|m| Some(m.metrics.tail_loop.is_some()))).collect(),
        ),
        ("compiles (javac)".to_string(), chains.iter().map(|c| rate_of(c, &|m| m.java.compiles)).collect()),
    ];
    let title = format!("Collapse and compile rate, model {model}");
    let stem = format!("rates-{model}");
    let svg = plots::save(&RatesFigure { title: title.clone(), chains: chains.to_vec(), rates }, out, &stem)?;
    figures.push((title, stem, svg));

    let loop_onsets: Vec<Vec<usize>> =
        chains.iter().map(|c| of_chain(records, c).filter_map(|m| m.metrics.loop_onset()).collect()).collect();
    let spike_onsets: Vec<Vec<usize>> =
        chains.iter().map(|c| of_chain(records, c).filter_map(|m| m.metrics.entropy_spike_at).collect()).collect();
    let max_position = records.iter().filter_map(|r| r.measured()).map(|m| m.generated.tokens.len()).max().unwrap_or(1);
    let title = format!("Collapse onset, model {model}");
    let stem = format!("onset-{model}");
    let figure = OnsetFigure { title: title.clone(), chains: chains.to_vec(), loop_onsets, spike_onsets, max_position };
    let svg = plots::save(&figure, out, &stem)?;
    figures.push((title, stem, svg));
    Ok(figures)
}
