//! The run log: one JSON object per line in `RUN_DIR/log.jsonl`, a `train`
//! record per optimizer step and an `eval` record per evaluation.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result, TrainerError};

pub const LOG_FILE: &str = "log.jsonl";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LogRecord {
    Train { step: usize, tokens: u64, loss: f64, lr: f64, grad_norm: f64, tokens_per_sec: f64, elapsed_s: f64 },
    Eval { step: usize, tokens: u64, val_loss: f64 },
}

impl LogRecord {
    pub fn step(&self) -> usize {
        match self {
            LogRecord::Train { step, .. } | LogRecord::Eval { step, .. } => *step,
        }
    }
}

pub struct RunLog {
    path: PathBuf,
    file: std::fs::File,
}

impl RunLog {
    /// Opens the log for appending. When resuming from a checkpoint at
    /// `keep_through_step`, records after it (written by the interrupted run
    /// after its last checkpoint) are dropped, because the resumed run
    /// writes those steps again.
    pub fn open(run_dir: &Path, keep_through_step: Option<usize>) -> Result<RunLog> {
        let path = run_dir.join(LOG_FILE);
        match keep_through_step {
            Some(step) if path.exists() => {
                // Byte-level: the lines kept are the bytes the interrupted run
                // wrote (re-serialising parsed floats could change their last
                // digits), and a line a hard kill cut short, even inside a
                // UTF-8 character, is dropped rather than refused.
                let bytes = std::fs::read(&path).at(&path)?;
                let mut kept = Vec::with_capacity(bytes.len());
                for line in bytes.split_inclusive(|&b| b == b'\n').filter(|l| l.ends_with(b"\n")) {
                    let Ok(record) = serde_json::from_slice::<LogRecord>(line) else { continue };
                    if record.step() <= step {
                        kept.extend_from_slice(line);
                    }
                }
                std::fs::write(&path, kept).at(&path)?;
            }
            Some(_) => {}
            None => {
                if path.exists() {
                    std::fs::remove_file(&path).at(&path)?;
                }
            }
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path).at(&path)?;
        Ok(RunLog { path, file })
    }

    pub fn write(&mut self, record: &LogRecord) -> Result<()> {
        let line = serde_json::to_string(record).expect("record serialises") + "\n";
        self.file.write_all(line.as_bytes()).at(&self.path)
    }
}

/// Reads every record; a malformed line is an error naming its number.
pub fn read_log(path: &Path) -> Result<Vec<LogRecord>> {
    let text = std::fs::read_to_string(path).at(path)?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| TrainerError::Log { path: path.to_owned(), reason: format!("line {}: {e}", i + 1) })
        })
        .collect()
}
