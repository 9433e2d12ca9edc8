//! report.html: the report in one file, figures inline as SVG.

use std::fmt::Write;

use super::summary::{best_chains, format_estimate, metric, ChainSummary, HEADLINE, METRICS};
use super::{markdown, ModelSection, RunMeta};
use crate::suite::Suite;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn render(suite: &Suite, meta: &RunMeta, sections: &[ModelSection]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Collapse benchmark: {name}</title>\n<style>\
body{{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}}\
table{{border-collapse:collapse;margin:1em 0;font-size:14px}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
td:first-child,th:first-child{{text-align:left}}.best{{font-weight:bold;background:#e6f4ea}}.ci{{color:#777;font-size:12px}}\
svg{{max-width:100%;height:auto}}</style></head><body>\n<h1>Collapse benchmark: {name}</h1>\n",
        name = escape(&suite.name)
    );
    if !suite.description.is_empty() {
        let _ = writeln!(s, "<p>{}</p>", escape(suite.description.trim()));
    }
    let _ = writeln!(
        s,
        "<ul><li>Command: <code>{}</code></li><li>Git commit: <code>{}</code></li><li>Grid: {} chains &times; {} prompts &times; {} seeds, up to {} new tokens, device <code>{}</code></li>\
<li>Cells: mean and 95% interval (Student t; Wilson for rates); the best chain is highlighted. Definitions: <code>docs/bench.md</code>.</li></ul>",
        escape(&meta.command),
        escape(&meta.git_commit),
        suite.chains.len(),
        suite.prompts.len(),
        suite.seeds.len(),
        suite.max_new_tokens,
        escape(&suite.device)
    );
    for section in sections {
        let _ = writeln!(s, "<h2>Model <code>{}</code></h2>", escape(&section.model));
        let _ = writeln!(s, "<h3>Headline</h3>");
        table(&mut s, &section.summaries, HEADLINE, true);
        for (title, _, svg) in &section.figures {
            let _ = writeln!(s, "<h3>{}</h3>\n{}", escape(title), strip_xml_declaration(svg));
        }
        let _ = writeln!(s, "<h3>First javac error per generation</h3>");
        let _ = writeln!(s, "<pre>{}</pre>", escape(markdown::first_error_table(&section.summaries).trim()));
        let _ = writeln!(s, "<h3>All metrics</h3>");
        let all: Vec<&str> = METRICS.iter().map(|m| m.id).collect();
        table(&mut s, &section.summaries, &all, false);
        let failures = markdown::failures(&section.summaries);
        if !failures.is_empty() {
            let _ = writeln!(s, "<pre>{}</pre>", escape(failures.trim()));
        }
    }
    s.push_str("</body></html>\n");
    s
}

/// Chains as rows when `chains_as_rows`, else metrics as rows.
fn table(s: &mut String, summaries: &[ChainSummary], ids: &[&str], chains_as_rows: bool) {
    let best: Vec<Vec<usize>> = ids.iter().map(|id| best_chains(metric(id), summaries)).collect();
    let cell = |k: usize, chain: usize| -> String {
        let def = metric(ids[k]);
        match summaries[chain].estimates.get(def.id) {
            None => "<td>–</td>".into(),
            Some(e) => {
                let (mean, interval) = format_estimate(def, e);
                let class = if best[k].contains(&chain) { " class=\"best\"" } else { "" };
                format!("<td{class}>{mean} <span class=\"ci\">{interval}</span></td>")
            }
        }
    };
    s.push_str("<table>\n<tr>");
    if chains_as_rows {
        s.push_str("<th>chain</th><th>n</th>");
        for id in ids {
            let _ = write!(s, "<th>{}</th>", escape(metric(id).label));
        }
        s.push_str("</tr>\n");
        for (i, summary) in summaries.iter().enumerate() {
            let _ = write!(s, "<tr><td>{}</td><td>{}</td>", escape(&summary.chain), summary.ok);
            for k in 0..ids.len() {
                s.push_str(&cell(k, i));
            }
            s.push_str("</tr>\n");
        }
    } else {
        s.push_str("<th>metric</th>");
        for summary in summaries {
            let _ = write!(s, "<th>{}</th>", escape(&summary.chain));
        }
        s.push_str("</tr>\n");
        for (k, id) in ids.iter().enumerate() {
            let _ = write!(s, "<tr><td>{}</td>", escape(metric(id).label));
            for i in 0..summaries.len() {
                s.push_str(&cell(k, i));
            }
            s.push_str("</tr>\n");
        }
    }
    s.push_str("</table>\n");
}

fn strip_xml_declaration(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}
