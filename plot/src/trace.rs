//! Reading the entropy records back from a `generate --trace` file.
//!
//! The trace holds one JSON object per line, one per observation:
//! `{"stage": …, "seq": <sequence index>, "step": n, "record": {…}}`.
//! Records written by `entropy_logger` carry `pos`, `entropy_after` and
//! friends; every other record (other stages log other things) is skipped.

use std::path::Path;

use serde::Deserialize;

use crate::PlotError;

/// One generated token as `entropy_logger` saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct EntropyPoint {
    /// Index in the whole sequence (prompt included).
    pub pos: u64,
    /// Entropy (nats) of the distribution the sampler drew from.
    pub after: f64,
    /// Entropy of the model's own distribution, before any stage.
    pub before: Option<f64>,
    /// The chosen token's text.
    pub text: String,
}

/// The points of one sequence of the batch, in position order.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequence {
    pub seq: u64,
    pub points: Vec<EntropyPoint>,
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    seq: u64,
    record: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Record {
    pos: u64,
    entropy_after: Option<f64>,
    #[serde(default)]
    entropy_before: Option<f64>,
    #[serde(default)]
    text: String,
}

/// Reads `path`; fails when it has no entropy records at all.
pub fn read(path: &Path) -> Result<Vec<Sequence>, PlotError> {
    let text = std::fs::read_to_string(path).map_err(|error| PlotError::Read { path: path.to_path_buf(), error })?;
    parse(&text, path)
}

/// Parses trace text; `path` is only for messages.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Sequence>, PlotError> {
    let mut sequences: Vec<Sequence> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| PlotError::BadRecord { path: path.to_path_buf(), line: i + 1, message };
        let line: Line = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let Some(record) = line.record else { continue };
        if record.get("entropy_after").is_none() || record.get("pos").is_none() {
            continue;
        }
        let record: Record = serde_json::from_value(record).map_err(|e| bad(format!("entropy record: {e}")))?;
        // Null only when nothing was left to sample from, which ends a sequence anyway.
        let Some(after) = record.entropy_after else { continue };
        let point = EntropyPoint { pos: record.pos, after, before: record.entropy_before, text: record.text };
        match sequences.iter_mut().find(|s| s.seq == line.seq) {
            Some(s) => s.points.push(point),
            None => sequences.push(Sequence { seq: line.seq, points: vec![point] }),
        }
    }
    if sequences.is_empty() {
        return Err(PlotError::NoEntropy { path: path.to_path_buf() });
    }
    sequences.sort_by_key(|s| s.seq);
    for s in &mut sequences {
        s.points.sort_by_key(|p| p.pos);
    }
    Ok(sequences)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_sequence_and_skips_other_records() {
        let text = r#"
{"stage":"entropy_logger","seq":1,"step":0,"record":{"pos":5,"entropy_after":0.5,"entropy_before":0.7,"text":"a"}}
{"stage":"java_grammar","seq":0,"step":0,"record":{"rejected":12}}
{"stage":"entropy_logger","seq":0,"step":1,"record":{"pos":4,"entropy_after":1.5,"text":"c"}}
{"stage":"entropy_logger","seq":0,"step":0,"record":{"pos":3,"entropy_after":1.0,"entropy_before":2.0,"text":"b"}}
"#;
        let seqs = parse(text, Path::new("t.jsonl")).unwrap();
        assert_eq!(seqs.len(), 2);
        assert_eq!(seqs[0].seq, 0);
        assert_eq!(seqs[0].points.iter().map(|p| p.pos).collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(seqs[0].points[0].before, Some(2.0));
        assert_eq!(seqs[0].points[1].before, None);
        assert_eq!(seqs[1].points[0].text, "a");
    }

    #[test]
    fn names_the_line_of_a_bad_record() {
        let err = parse("\n{\"seq\":0,\"record\":{}}\nnot json\n", Path::new("t.jsonl")).unwrap_err();
        assert!(err.to_string().starts_with("t.jsonl:3: not a JSON trace record"), "{err}");
        let err = parse("{\"seq\":0,\"record\":{\"x\":1}}\n", Path::new("t.jsonl")).unwrap_err();
        assert!(matches!(err, PlotError::NoEntropy { .. }));
    }
}
