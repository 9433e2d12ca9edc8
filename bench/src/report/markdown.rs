//! report.md: a headline table first, then everything.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::summary::{best_chains, format_estimate, metric, ChainSummary, HEADLINE, METRICS};
use super::{ModelSection, RunMeta};
use crate::suite::Suite;

pub fn render(suite: &Suite, meta: &RunMeta, sections: &[ModelSection]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Collapse benchmark: {}\n", suite.name);
    if !suite.description.is_empty() {
        let _ = writeln!(s, "{}\n", suite.description.trim());
    }
    let _ = writeln!(s, "- Command: `{}`", meta.command);
    let _ = writeln!(s, "- Git commit: `{}`", meta.git_commit);
    let _ = writeln!(
        s,
        "- Grid: {} chains x {} prompts x {} seeds (`{:?}`), up to {} new tokens, device `{}`, batch size {}",
        suite.chains.len(),
        suite.prompts.len(),
        suite.seeds.len(),
        suite.seeds,
        suite.max_new_tokens,
        suite.device,
        suite.batch_size
    );
    let _ = writeln!(
        s,
        "- Cells are the mean and its 95% interval (Student t; Wilson for rates); **bold** marks the best chain."
    );
    let _ = writeln!(s, "- Metric definitions and conventions: `docs/bench.md`.\n");
    for section in sections {
        let _ = writeln!(s, "## Model `{}`\n\n`{}`\n", section.model, section.model_dir);
        let _ = writeln!(s, "### Headline\n");
        s.push_str(&headline_table(&section.summaries));
        let _ = writeln!(s, "\n### First javac error per generation\n");
        s.push_str(&first_error_table(&section.summaries));
        let _ = writeln!(s, "\n### All metrics\n");
        s.push_str(&full_table(&section.summaries));
        let _ = writeln!(s, "\n### Time per chain stage (ms per generated token)\n");
        s.push_str(&stage_table(&section.summaries));
        s.push_str(&failures(&section.summaries));
        let _ = writeln!(s, "\n### Figures\n");
        for (title, stem, _) in &section.figures {
            let _ = writeln!(s, "![{title}]({stem}.png)\n");
        }
    }
    s
}

fn cell(summaries: &[ChainSummary], id: &str, chain: usize, best: &[usize], with_interval: bool) -> String {
    let def = metric(id);
    match summaries[chain].estimates.get(def.id) {
        None => "–".into(),
        Some(e) => {
            let (mean, interval) = format_estimate(def, e);
            let mean = if best.contains(&chain) { format!("**{mean}**") } else { mean };
            if with_interval {
                format!("{mean} {interval}")
            } else {
                mean
            }
        }
    }
}

/// Rows are chains; the columns are the headline metrics.
pub fn headline_table(summaries: &[ChainSummary]) -> String {
    let mut s = String::from("| chain | n |");
    for id in HEADLINE {
        let _ = write!(s, " {} |", metric(id).label);
    }
    s.push_str("\n|---|---:|");
    s.push_str(&"---:|".repeat(HEADLINE.len()));
    s.push('\n');
    let best: Vec<Vec<usize>> = HEADLINE.iter().map(|id| best_chains(metric(id), summaries)).collect();
    for (i, summary) in summaries.iter().enumerate() {
        let _ = write!(s, "| {} | {} |", summary.chain, summary.ok);
        for (k, id) in HEADLINE.iter().enumerate() {
            let _ = write!(s, " {} |", cell(summaries, id, i, &best[k], true));
        }
        s.push('\n');
    }
    s
}

/// Rows are kinds of first javac error (most frequent first), columns
/// chains: what stands between each chain and compiling code.
pub fn first_error_table(summaries: &[ChainSummary]) -> String {
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    for summary in summaries {
        for (kind, n) in &summary.first_errors {
            *totals.entry(kind).or_insert(0) += n;
        }
    }
    let mut kinds: Vec<(&str, usize)> = totals.into_iter().collect();
    // "compiles" first, then by frequency.
    kinds.sort_by_key(|&(kind, n)| (kind != "compiles", std::cmp::Reverse(n), kind));
    let mut s = String::from("| first error |");
    for summary in summaries {
        let _ = write!(s, " {} |", summary.chain);
    }
    s.push_str("\n|---|");
    s.push_str(&"---:|".repeat(summaries.len()));
    s.push('\n');
    for (kind, _) in kinds {
        let _ = write!(s, "| {kind} |");
        for summary in summaries {
            let _ = write!(s, " {} |", summary.first_errors.get(kind).copied().unwrap_or(0));
        }
        s.push('\n');
    }
    s
}

/// Rows are metrics, columns chains: there are more metrics than chains.
fn full_table(summaries: &[ChainSummary]) -> String {
    let mut s = String::from("| metric |");
    for summary in summaries {
        let _ = write!(s, " {} |", summary.chain);
    }
    s.push_str("\n|---|");
    s.push_str(&"---:|".repeat(summaries.len()));
    s.push('\n');
    for def in METRICS {
        let best = best_chains(def, summaries);
        let _ = write!(s, "| {} |", def.label);
        for i in 0..summaries.len() {
            let _ = write!(s, " {} |", cell(summaries, def.id, i, &best, true));
        }
        s.push('\n');
    }
    s
}

fn stage_table(summaries: &[ChainSummary]) -> String {
    let mut s = String::from("| chain | stages |\n|---|---|\n");
    for summary in summaries {
        let mut stages: Vec<String> =
            summary.stage_ms_per_token.iter().map(|(name, ms)| format!("{name} {ms:.3}")).collect();
        if let Some(ms) = summary.rollback_ms_per_rewind {
            stages.push(format!("(rollback {ms:.3} ms per rewind)"));
        }
        let _ =
            writeln!(s, "| {} | {} |", summary.chain, if stages.is_empty() { "–".into() } else { stages.join(", ") });
    }
    s
}

/// Failures grouped by reason, so a broken chain is one line, not hundreds.
pub fn failures(summaries: &[ChainSummary]) -> String {
    let mut by_reason: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for summary in summaries {
        for (key, reason) in &summary.failures {
            by_reason.entry((summary.chain.as_str(), reason.as_str())).or_default().push(key.as_str());
        }
    }
    if by_reason.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n### Failed generations\n\n");
    for ((chain, reason), keys) in by_reason {
        let shown: Vec<&str> = keys.iter().take(3).copied().collect();
        let more = if keys.len() > 3 { format!(" and {} more", keys.len() - 3) } else { String::new() };
        let _ = writeln!(s, "- `{chain}`, {} generation(s) ({}{more}): {reason}", keys.len(), shown.join(", "));
    }
    s
}
