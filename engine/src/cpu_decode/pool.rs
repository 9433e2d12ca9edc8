//! A tiny fork-join pool for the decode step: the calling thread plus
//! persistent workers, each running one share of a job.
//!
//! A step at batch 1 makes ~50 parallel calls of 50–500 µs each, so the
//! cost of handing out a job matters: spawning threads per call measured
//! slower than one thread here, and a general-purpose pool's queueing is
//! more than this needs. Workers spin for a short while after each job
//! (the next one usually follows within microseconds) and then sleep on a
//! condition variable, so an idle engine costs nothing.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a worker spins for the next job before it sleeps.
const SPIN_BEFORE_SLEEP: Duration = Duration::from_millis(2);

type Job = dyn Fn(usize, usize) + Sync;

struct Shared {
    /// Bumped once per job; workers run a job when they see it change.
    epoch: AtomicUsize,
    /// Workers that finished the current job.
    finished: AtomicUsize,
    /// The current job, valid while its epoch is current and `run` waits.
    job: UnsafeCell<Option<*const Job>>,
    sleepers: AtomicUsize,
    worker_panicked: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

// SAFETY: `job` is written only by the thread holding `Pool::exclusive`,
// before the epoch is published (release) and read by workers after they
// observe it (acquire); `run` does not return before every worker is done.
unsafe impl Sync for Shared {}
// SAFETY: as for `Sync`: the job pointer is only dereferenced while `run`
// keeps its referent alive.
unsafe impl Send for Shared {}

pub struct Pool {
    shared: Arc<Shared>,
    workers: usize,
    /// One job at a time; a second caller runs its job alone instead.
    exclusive: Mutex<()>,
}

impl Pool {
    /// The process-wide pool, sized on first use to the threads libtorch
    /// is allowed (`tch::set_num_threads`) and the CPUs available.
    pub fn global() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| {
            let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            let threads = (tch::get_num_threads().max(1) as usize).min(cpus).min(64);
            Pool::new(threads - 1)
        })
    }

    pub fn new(workers: usize) -> Pool {
        let shared = Arc::new(Shared {
            epoch: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            job: UnsafeCell::new(None),
            sleepers: AtomicUsize::new(0),
            worker_panicked: AtomicBool::new(false),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        });
        for index in 0..workers {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("logitloom-decode-{}", index + 1))
                .spawn(move || worker_loop(&shared, index + 1, workers + 1))
                .expect("spawning a decode worker thread");
        }
        Pool { shared, workers, exclusive: Mutex::new(()) }
    }

    /// Threads a job is split over (workers plus the caller).
    pub fn parts(&self) -> usize {
        self.workers + 1
    }

    /// Runs `job(part, parts)` for every part in `0..parts`, in parallel
    /// when the pool is free, and returns when all are done.
    pub fn run(&self, job: &(dyn Fn(usize, usize) + Sync)) {
        let parts = self.parts();
        let Ok(_guard) = self.exclusive.try_lock() else {
            // Another generation is using the workers: do it all here.
            (0..parts).for_each(|part| job(part, parts));
            return;
        };
        if self.workers == 0 {
            job(0, 1);
            return;
        }
        let shared = &*self.shared;
        // SAFETY: the lifetime is erased only until this call returns,
        // which it does after every worker reported the job finished.
        let erased: *const Job = unsafe { std::mem::transmute::<&(dyn Fn(usize, usize) + Sync), &'static Job>(job) };
        // SAFETY: this thread holds `exclusive` and no worker reads `job`
        // before the epoch below is published.
        unsafe { *shared.job.get() = Some(erased) };
        shared.finished.store(0, Ordering::Relaxed);
        shared.epoch.fetch_add(1, Ordering::SeqCst);
        if shared.sleepers.load(Ordering::SeqCst) > 0 {
            let _lock = shared.lock.lock().unwrap_or_else(|e| e.into_inner());
            shared.wake.notify_all();
        }
        // The workers borrow `job`: even if our share panics, wait for them
        // before unwinding past it.
        let own_share = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(0, parts)));
        while shared.finished.load(Ordering::Acquire) < self.workers {
            std::hint::spin_loop();
        }
        if let Err(panic) = own_share {
            std::panic::resume_unwind(panic);
        }
        if shared.worker_panicked.load(Ordering::Relaxed) {
            panic!("a decode worker thread panicked");
        }
    }
}

fn worker_loop(shared: &Shared, part: usize, parts: usize) {
    // Not a fresh load: a job may already have been published before this
    // thread got to run, and it must not be skipped.
    let mut seen = 0;
    loop {
        let spin_start = Instant::now();
        let mut spins = 0u32;
        let epoch = loop {
            let now = shared.epoch.load(Ordering::Acquire);
            if now != seen {
                break now;
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(1024) && spin_start.elapsed() > SPIN_BEFORE_SLEEP {
                shared.sleepers.fetch_add(1, Ordering::SeqCst);
                let mut lock = shared.lock.lock().unwrap_or_else(|e| e.into_inner());
                while shared.epoch.load(Ordering::SeqCst) == seen {
                    lock = shared.wake.wait(lock).unwrap_or_else(|e| e.into_inner());
                }
                drop(lock);
                shared.sleepers.fetch_sub(1, Ordering::SeqCst);
                break shared.epoch.load(Ordering::Acquire);
            }
            std::hint::spin_loop();
        };
        seen = epoch;
        // SAFETY: see `Shared`; the job outlives this call.
        let job = unsafe { (*shared.job.get()).expect("a job is published with its epoch") };
        // SAFETY: `run` keeps the job alive until every worker reports back.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { (*job)(part, parts) }));
        if outcome.is_err() {
            shared.worker_panicked.store(true, Ordering::Relaxed);
        }
        shared.finished.fetch_add(1, Ordering::Release);
    }
}

/// The share of `0..len` that `part` of `parts` handles, in multiples of
/// `align` so that no two threads write the same cache line.
pub fn share(len: usize, part: usize, parts: usize, align: usize) -> std::ops::Range<usize> {
    let units = len.div_ceil(align);
    let start = (units * part / parts * align).min(len);
    let end = (units * (part + 1) / parts * align).min(len);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once_per_job_and_shares_cover_the_range() {
        let pool = Pool::new(3);
        for round in 0..200 {
            let hits: Vec<AtomicUsize> = (0..pool.parts()).map(|_| AtomicUsize::new(0)).collect();
            pool.run(&|part, parts| {
                assert_eq!(parts, 4);
                hits[part].fetch_add(1, Ordering::Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1), "round {round}");
            if round == 100 {
                // Let the workers fall asleep; the next job must wake them.
                std::thread::sleep(SPIN_BEFORE_SLEEP * 3);
            }
        }
        // A panic in the caller's share waits for the workers, then reaches the caller.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.run(&|part, _| {
                if part == 0 {
                    panic!("share 0 fails");
                }
                std::thread::sleep(Duration::from_millis(20));
            })
        }));
        assert!(caught.is_err());
        let after: Vec<AtomicUsize> = (0..pool.parts()).map(|_| AtomicUsize::new(0)).collect();
        pool.run(&|part, _| {
            after[part].fetch_add(1, Ordering::Relaxed);
        });
        assert!(after.iter().all(|h| h.load(Ordering::Relaxed) == 1), "the pool works after a panic");
        for len in [0, 1, 15, 16, 17, 50257] {
            let mut covered = 0;
            for part in 0..3 {
                let r = share(len, part, 3, 16);
                assert_eq!(r.start, covered);
                covered = r.end;
            }
            assert_eq!(covered, len);
        }
    }
}
