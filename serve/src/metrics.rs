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
        let mut counter = |name: &str, help: &str, kind: &str, value: String| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        };
        counter(
            "logitloom_prompt_tokens_total",
            "Prompt tokens prefilled.",
            "counter",
            self.prompt_tokens.load(Relaxed).to_string(),
        );
        counter(
            "logitloom_generated_tokens_total",
            "Tokens generated, those later taken back by rewinds included.",
            "counter",
            self.generated_tokens.load(Relaxed).to_string(),
        );
        counter(
            "logitloom_rewinds_total",
            "Rewinds granted to rewinding stages (loop_breaker, entropy_backtrack, ...).",
            "counter",
            self.rewinds.load(Relaxed).to_string(),
        );
        counter(
            "logitloom_rewound_tokens_total",
            "Generated tokens those rewinds discarded.",
            "counter",
            self.rewound_tokens.load(Relaxed).to_string(),
        );
        counter(
            "logitloom_queue_depth",
            "Sequences waiting for a batch slot.",
            "gauge",
            self.queue_depth.load(Relaxed).to_string(),
        );
        counter(
            "logitloom_batch_size",
            "Sequences in the running batch.",
            "gauge",
            self.batch_size.load(Relaxed).to_string(),
        );
        counter(
            "logitloom_decode_steps_total",
            "Batched decode steps.",
            "counter",
            self.steps.load(Relaxed).to_string(),
        );
        counter(
            "logitloom_decode_step_rows_total",
            "Rows fed over all decode steps (divide by steps for the mean batch).",
            "counter",
            self.step_rows.load(Relaxed).to_string(),
        );
        counter(
            "logitloom_decode_seconds_total",
            "Time in decode steps.",
            "counter",
            secs(self.step_micros.load(Relaxed)),
        );
        counter("logitloom_prefills_total", "Batched prefills.", "counter", self.prefills.load(Relaxed).to_string());
        counter(
            "logitloom_prefill_seconds_total",
            "Time in prefills.",
            "counter",
            secs(self.prefill_micros.load(Relaxed)),
        );
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
