//! Bounds on everything a plugin hands the host.
//!
//! A WASM sandbox is only as tight as its host imports: `StoreLimits` caps
//! the module's own memory, but whatever the host copies *out* of it
//! (observations, error text, the describe JSON) lives in the host's memory,
//! where no deadline or limit of the module applies. Each of these is
//! therefore bounded here, and a plugin that goes past a bound fails the
//! call with an error that names the bound (we do not drop and count: a
//! trace missing records without saying so would mislead whoever reads it).
//!
//! WASM lengths are checked before anything is copied. Native plugins are
//! trusted code in our process: their strings are already allocated when
//! the host sees them, so the same bounds there only limit what the host
//! keeps (see docs/plugins.md, "Trust").

use serde::{Deserialize, Serialize};

/// Largest `logitloom_describe` result (WASM) or describe string (native).
pub const MAX_DESCRIBE_BYTES: usize = 1 << 20;
/// Error text kept from a plugin; longer text is cut, with a marker.
pub const MAX_ERROR_BYTES: usize = 4 << 10;
/// Largest parameter object, as the JSON a plugin is created from.
pub const MAX_PARAMS_JSON_BYTES: usize = 1 << 20;

/// Per-stage bounds on observations (chain file, `[observe]`). A record is
/// one `observe` call; the per-step counts add up a stage's `process` or
/// `sample` and its `accept` at the same step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObserveLimits {
    /// Largest record, in bytes of JSON text.
    #[serde(default = "ObserveLimits::default_max_record_bytes")]
    pub max_record_bytes: usize,
    /// Most records one stage may make at one step.
    #[serde(default = "ObserveLimits::default_max_records_per_step")]
    pub max_records_per_step: usize,
    /// Most bytes of records one stage may make at one step.
    #[serde(default = "ObserveLimits::default_max_bytes_per_step")]
    pub max_bytes_per_step: usize,
}

impl ObserveLimits {
    fn default_max_record_bytes() -> usize {
        64 << 10
    }
    fn default_max_records_per_step() -> usize {
        64
    }
    fn default_max_bytes_per_step() -> usize {
        1 << 20
    }
}

impl Default for ObserveLimits {
    fn default() -> Self {
        ObserveLimits {
            max_record_bytes: ObserveLimits::default_max_record_bytes(),
            max_records_per_step: ObserveLimits::default_max_records_per_step(),
            max_bytes_per_step: ObserveLimits::default_max_bytes_per_step(),
        }
    }
}

/// What one stage has observed at the current step, against its limits.
#[derive(Clone, Debug)]
pub(crate) struct ObserveBudget {
    pub limits: ObserveLimits,
    step: Option<usize>,
    records: usize,
    bytes: usize,
}

impl ObserveBudget {
    pub fn new(limits: ObserveLimits) -> ObserveBudget {
        ObserveBudget { limits, step: None, records: 0, bytes: 0 }
    }

    /// Starts counting `step` afresh unless it is the step being counted.
    pub fn at_step(&mut self, step: usize) {
        if self.step != Some(step) {
            *self = ObserveBudget { step: Some(step), ..ObserveBudget::new(self.limits) };
        }
    }

    /// Counts one record of `len` bytes, or says which limit it breaks.
    /// Called before the record is copied anywhere.
    pub fn admit(&mut self, len: usize) -> Result<(), String> {
        let l = &self.limits;
        if len > l.max_record_bytes {
            return Err(format!(
                "observe: a record of {len} bytes is over the limit of {} bytes per record ([observe] max_record_bytes)",
                l.max_record_bytes
            ));
        }
        if self.records + 1 > l.max_records_per_step {
            return Err(format!(
                "observe: more than {} records at one step ([observe] max_records_per_step)",
                l.max_records_per_step
            ));
        }
        if self.bytes + len > l.max_bytes_per_step {
            return Err(format!(
                "observe: records of more than {} bytes at one step ([observe] max_bytes_per_step)",
                l.max_bytes_per_step
            ));
        }
        self.records += 1;
        self.bytes += len;
        Ok(())
    }
}

/// A record's bytes as JSON, or why they are refused: text that is not
/// UTF-8 or not JSON is an error, not something to store lossily.
pub(crate) fn parse_record(bytes: &[u8]) -> Result<serde_json::Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("observe: a record is not UTF-8 ({e})"))?;
    serde_json::from_str(text).map_err(|e| format!("observe: a record is not JSON ({e}): {}", preview(text)))
}

/// The start of `text`, for messages.
fn preview(text: &str) -> String {
    let cut = floor_char_boundary(text, 40);
    if cut < text.len() {
        format!("{:?}...", &text[..cut])
    } else {
        format!("{text:?}")
    }
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0)
}

/// `text` cut to [`MAX_ERROR_BYTES`] (on a character boundary), saying how
/// much was cut; `total` is the length the plugin gave, which may be more
/// than `text` when the host read only the start.
pub(crate) fn cut_error(text: &str, total: usize) -> String {
    if total <= MAX_ERROR_BYTES && text.len() == total {
        return text.to_string();
    }
    let cut = floor_char_boundary(text, MAX_ERROR_BYTES);
    format!("{}... [{} more bytes of the plugin's message cut]", &text[..cut], total - cut)
}

/// Error text from bytes a plugin returned: lossy UTF-8 (it is only shown),
/// cut as [`cut_error`].
pub(crate) fn error_text(bytes: &[u8], total: usize) -> String {
    let head = &bytes[..bytes.len().min(MAX_ERROR_BYTES + 4)];
    cut_error(&String::from_utf8_lossy(head), total.max(head.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_counts_per_step_and_resets_on_the_next() {
        let mut b =
            ObserveBudget::new(ObserveLimits { max_record_bytes: 10, max_records_per_step: 2, max_bytes_per_step: 15 });
        b.at_step(0);
        assert!(b.admit(11).unwrap_err().contains("max_record_bytes"));
        b.admit(10).unwrap();
        assert!(b.admit(6).unwrap_err().contains("max_bytes_per_step"));
        b.admit(5).unwrap();
        assert!(b.admit(0).unwrap_err().contains("max_records_per_step"));
        b.at_step(0);
        assert!(b.admit(0).is_err(), "the same step goes on counting");
        b.at_step(1);
        b.admit(10).unwrap();
    }

    #[test]
    fn records_must_be_utf8_json() {
        assert_eq!(parse_record(b"{\"a\":1}").unwrap(), serde_json::json!({"a": 1}));
        assert!(parse_record(b"\xff\xfe{}").unwrap_err().contains("not UTF-8"));
        assert!(parse_record(b"not json {").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn long_errors_are_cut_on_a_character_boundary_with_a_marker() {
        let short = "fine";
        assert_eq!(cut_error(short, short.len()), "fine");
        let long = "é".repeat(MAX_ERROR_BYTES);
        let cut = cut_error(&long, long.len());
        assert!(cut.len() < MAX_ERROR_BYTES + 100);
        assert!(
            cut.ends_with(&format!("[{} more bytes of the plugin's message cut]", long.len() - MAX_ERROR_BYTES)),
            "{}",
            &cut[cut.len() - 80..]
        );
        let partial = error_text(&[b'x'; 10_000], 64 << 20);
        assert!(
            partial.ends_with(&format!("[{} more bytes of the plugin's message cut]", (64 << 20) - MAX_ERROR_BYTES))
        );
    }
}
