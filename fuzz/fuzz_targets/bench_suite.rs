//! The bench suite parser (inline chains included) and the job list built
//! from a suite it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(suite) = logitloom_bench::Suite::parse(&text, std::path::Path::new("/nonexistent/suite.toml")) {
        for job in suite.jobs().iter().take(64) {
            let _ = suite.job_key(job);
        }
    }
});
