//! Ctrl-C during a benchmark: finish the batch in flight, keep everything.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Installs a Ctrl-C handler: the first press sets the returned flag (the
/// runner stops after the current batch, whose results are kept); a second
/// press exits at once, losing only that batch.
pub fn stop_on_ctrl_c() -> Result<Arc<AtomicBool>, ctrlc::Error> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after the current batch (Ctrl-C again to quit now)");
    })?;
    Ok(stop)
}
