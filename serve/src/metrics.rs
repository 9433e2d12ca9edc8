//! Counters for `GET /metrics` (Prometheus text format), kept by hand:
//! a handful of atomics does not need a metrics library.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
pub struct Metrics {
    pub requests: Mutex<BTreeMap<u16, u64>>,
    pub prompt_tokens: AtomicU64,
    pub generated_tokens: AtomicU64,
    pub rewinds: AtomicU64,
    pub rewound_tokens: AtomicU64,
    pub queue_depth: AtomicU64,
    pub batch_size: AtomicU64,
    pub steps: AtomicU64,
    pub step_rows: AtomicU64,
    pub prefills: AtomicU64,
    pub prefill_micros: AtomicU64,
    pub step_micros: AtomicU64,
    pub stage_micros: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    pub fn request(&self, status: u16) {
        *self.requests.lock().expect("metrics lock").entry(status).or_default() += 1;
    }
    pub fn add_stage_times(&self, times: &[(String, Duration)]) {
        let mut map = self.stage_micros.lock().expect("metrics lock");
        for (label, t) in times {
            *map.entry(label.clone()).or_default() += t.as_micros() as u64;
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let count = |n: &AtomicU64| n.load(Relaxed).to_string();
        let seconds = |n: &AtomicU64| secs(n.load(Relaxed));
        let rows = [
            ("logitloom_prompt_tokens_total", "Prompt tokens prefilled.", "counter", count(&self.prompt_tokens)),
            (
                "logitloom_generated_tokens_total",
                "Tokens generated, those later taken back by rewinds included.",
                "counter",
                count(&self.generated_tokens),
            ),
            (
                "logitloom_rewinds_total",
                "Rewinds granted to rewinding stages (loop_breaker, entropy_backtrack, ...).",
                "counter",
                count(&self.rewinds),
            ),
            (
                "logitloom_rewound_tokens_total",
                "Generated tokens those rewinds discarded.",
                "counter",
                count(&self.rewound_tokens),
            ),
            ("logitloom_queue_depth", "Sequences waiting for a batch slot.", "gauge", count(&self.queue_depth)),
            ("logitloom_batch_size", "Sequences in the running batch.", "gauge", count(&self.batch_size)),
            ("logitloom_decode_steps_total", "Batched decode steps.", "counter", count(&self.steps)),
            (
                "logitloom_decode_step_rows_total",
                "Rows fed over all decode steps (divide by steps for the mean batch).",
                "counter",
                count(&self.step_rows),
            ),
            ("logitloom_decode_seconds_total", "Time in decode steps.", "counter", seconds(&self.step_micros)),
            ("logitloom_prefills_total", "Batched prefills.", "counter", count(&self.prefills)),
            ("logitloom_prefill_seconds_total", "Time in prefills.", "counter", seconds(&self.prefill_micros)),
        ];
        for (name, help, kind, value) in rows {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
        let _ = writeln!(out, "# HELP logitloom_requests_total Completion requests by HTTP status.\n# TYPE logitloom_requests_total counter");
        for (status, n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(out, "logitloom_requests_total{{status=\"{status}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP logitloom_stage_seconds_total Time spent in each chain stage, by stage label.\n# TYPE logitloom_stage_seconds_total counter");
        for (label, micros) in self.stage_micros.lock().expect("metrics lock").iter() {
            let label = label.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(out, "logitloom_stage_seconds_total{{stage=\"{label}\"}} {}", secs(*micros));
        }
        out
    }
}

fn secs(micros: u64) -> String {
    format!("{:.6}", micros as f64 / 1e6)
}
