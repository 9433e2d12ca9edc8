//! Reading the entropy records back from a `generate --trace` file.
//!
//! The trace holds one JSON object per line, one per observation:
//! `{"stage": …, "seq": <sequence index>, "step": n, "record": {…}}`.
//! Records written by `entropy_logger` carry `pos`, `entropy_after` and
//! friends; a granted rewind (`{"rewind": {"granted": true, "to_len": …}}`,
//! written by the host) drops the points it took back and is kept as a
//! mark, so the figure shows the kept text and where it was rewound;
//! every other record (other stages log other things) is skipped.

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

/// A granted rewind: the text from `to` on was dropped at length `from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RewindMark {
    pub from: u64,
    pub to: u64,
}

/// The points of one sequence of the batch, in position order, with its
/// rewinds in the order they happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequence {
    pub seq: u64,
    pub points: Vec<EntropyPoint>,
    pub rewinds: Vec<RewindMark>,
}

#[derive(Deserialize)]
struct RewindRecord {
    granted: bool,
    from_len: u64,
    to_len: u64,
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
        let sequence = |sequences: &mut Vec<Sequence>| -> usize {
            match sequences.iter().position(|s| s.seq == line.seq) {
                Some(i) => i,
                None => {
                    sequences.push(Sequence { seq: line.seq, points: vec![], rewinds: vec![] });
                    sequences.len() - 1
                }
            }
        };
        if let Some(rewind) = record.get("rewind") {
            let rewind: RewindRecord =
                serde_json::from_value(rewind.clone()).map_err(|e| bad(format!("rewind record: {e}")))?;
            if rewind.granted {
                let i = sequence(&mut sequences);
                let s = &mut sequences[i];
                s.points.retain(|p| p.pos < rewind.to_len);
                s.rewinds.push(RewindMark { from: rewind.from_len, to: rewind.to_len });
            }
            continue;
        }
        if record.get("entropy_after").is_none() || record.get("pos").is_none() {
            continue;
        }
        let record: Record = serde_json::from_value(record).map_err(|e| bad(format!("entropy record: {e}")))?;
        // Null only when nothing was left to sample from, which ends a sequence anyway.
        let Some(after) = record.entropy_after else { continue };
        let point = EntropyPoint { pos: record.pos, after, before: record.entropy_before, text: record.text };
        let i = sequence(&mut sequences);
        sequences[i].points.push(point);
    }
    sequences.retain(|s| !s.points.is_empty());
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
    fn a_granted_rewind_drops_the_points_it_took_back_and_leaves_a_mark() {
        let text = r#"
{"stage":"entropy_logger","seq":0,"step":0,"record":{"pos":3,"entropy_after":1.0,"text":"a"}}
{"stage":"entropy_logger","seq":0,"step":1,"record":{"pos":4,"entropy_after":2.0,"text":"b"}}
{"stage":"entropy_logger","seq":0,"step":2,"record":{"pos":5,"entropy_after":3.0,"text":"c"}}
{"stage":"loop_breaker","seq":0,"step":3,"record":{"rewind":{"step":3,"stage":"loop_breaker","from_len":6,"to_len":4,"ban":[9],"discarded":2,"granted":true}}}
{"stage":"loop_breaker","seq":0,"step":1,"record":{"rewind":{"step":1,"stage":"loop_breaker","from_len":4,"to_len":3,"ban":[],"discarded":0,"granted":false,"refused":"budget"}}}
{"stage":"entropy_logger","seq":0,"step":1,"record":{"pos":4,"entropy_after":0.5,"text":"d"}}
"#;
        let seqs = parse(text, Path::new("t.jsonl")).unwrap();
        let texts: Vec<&str> = seqs[0].points.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, ["a", "d"]);
        assert_eq!(seqs[0].rewinds, vec![RewindMark { from: 6, to: 4 }]);
    }

    #[test]
    fn names_the_line_of_a_bad_record() {
        let err = parse("\n{\"seq\":0,\"record\":{}}\nnot json\n", Path::new("t.jsonl")).unwrap_err();
        assert!(err.to_string().starts_with("t.jsonl:3: not a JSON trace record"), "{err}");
        let err = parse("{\"seq\":0,\"record\":{\"x\":1}}\n", Path::new("t.jsonl")).unwrap_err();
        assert!(matches!(err, PlotError::NoEntropy { .. }));
    }
}
