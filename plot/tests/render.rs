//! Renders a small hand-made trace with one planted spike.

use std::fmt::Write;
use std::path::Path;

use logitloom_plot::entropy::EntropyFigure;
use logitloom_plot::spikes::SpikeRule;
use logitloom_plot::{style, trace};

/// Two sequences of 60 tokens. Entropy wobbles between 0.8 and 1.2 nats;
/// sequence 0 jumps to 4.5 nats at position 40 (token " synchronized").
fn trace_text() -> String {
    let mut out = String::new();
    for seq in 0..2u32 {
        for step in 0..60u32 {
            let pos = 20 + step;
            let wobble = if step % 2 == 0 { 0.8 } else { 1.2 };
            let (after, text) =
                if seq == 0 && pos == 40 { (4.5, " synchronized") } else { (wobble + 0.1 * seq as f64, "x") };
            writeln!(
                out,
                r#"{{"stage":"entropy_logger","seq":{seq},"step":{step},"record":{{"pos":{pos},"step":{step},"token":1,"text":"{text}","logprob":-0.5,"raw_logprob":-0.7,"entropy_before":{},"entropy_after":{after},"top":[]}}}}"#,
                after + 0.6
            )
            .unwrap();
            // Another stage's observation in between must be ignored.
            writeln!(out, r#"{{"stage":"java_grammar","seq":{seq},"step":{step},"record":{{"allowed":17}}}}"#).unwrap();
        }
    }
    out
}

#[test]
fn finds_the_planted_spike() {
    let seqs = trace::parse(&trace_text(), Path::new("t.jsonl")).unwrap();
    let fig = EntropyFigure::new("t", seqs, SpikeRule::default(), 5);
    let spikes: Vec<(usize, usize)> = fig.spikes().map(|(seq, s)| (seq, s.index)).collect();
    // Position 40 is step 20 of sequence 0.
    assert_eq!(spikes, vec![(0, 20)]);
}

#[test]
fn renders_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let seqs = trace::parse(&trace_text(), Path::new("t.jsonl")).unwrap();
    let fig = EntropyFigure::new("Entropy per token: t.jsonl", seqs, SpikeRule::default(), 5);
    let png = dir.path().join("e.png");
    let svg = dir.path().join("e.svg");
    style::save(&fig, &png).unwrap();
    style::save(&fig, &svg).unwrap();
    let png_bytes = std::fs::read(&png).unwrap();
    assert!(png_bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(png_bytes.len() > 10_000, "suspiciously small PNG: {} bytes", png_bytes.len());
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.contains("<svg"));
    // The spike's token is labelled (quoted, with its leading space).
    assert!(svg_text.contains("&quot; synchronized&quot;") || svg_text.contains("\" synchronized\""), "label missing");
    assert!(matches!(
        style::save(&fig, &dir.path().join("e.jpg")),
        Err(logitloom_plot::PlotError::UnknownFormat { .. })
    ));
    if let Ok(keep) = std::env::var("LOGITLOOM_KEEP_PLOTS") {
        std::fs::copy(&png, Path::new(&keep).join("entropy.png")).unwrap();
        std::fs::copy(&svg, Path::new(&keep).join("entropy.svg")).unwrap();
    }
}

#[test]
fn token_labels_show_whitespace() {
    assert_eq!(logitloom_plot::entropy::token_label("\n"), "\"\\n\"");
    assert_eq!(logitloom_plot::entropy::token_label(" x"), "\" x\"");
    assert_eq!(logitloom_plot::entropy::token_label("averyveryverylongidentifier").chars().count(), 16);
}
