//! Times the CPU decode step's matrix-vector kernel alone, one thread,
//! on a GPT-2-sized output projection (50,257 x 768), for each storage and
//! group size: the numbers behind `docs/performance.md`'s kernel notes.
//!
//!     cargo run --release -p logitloom-engine --example matvec_bench [-- --rows R --cols C --batches 1,8,32]

use logitloom_engine::cpu_decode::kernels::{matvec, MatrixRef, Storage};

fn main() {
    // `--rows 512` keeps the matrix in L2: then the numbers are compute, not memory.
    let args: Vec<String> = std::env::args().collect();
    let rows: usize = args.iter().position(|a| a == "--rows").map(|i| args[i + 1].parse().unwrap()).unwrap_or(50257);
    let cols: usize = args.iter().position(|a| a == "--cols").map(|i| args[i + 1].parse().unwrap()).unwrap_or(768);
    let batches: Vec<usize> = args
        .iter()
        .position(|a| a == "--batches")
        .map(|i| args[i + 1].split(',').map(|b| b.parse().unwrap()).collect())
        .unwrap_or(vec![1, 2, 4, 8, 16, 32]);
    let calls = (50257 / rows).max(1);
    let weights_f32: Vec<f32> = (0..rows * cols).map(|i| ((i * 37 % 101) as f32 - 50.0) / 640.0).collect();
    let weights_16: Vec<u16> = weights_f32.iter().map(|&w| half::bf16::from_f32(w).to_bits()).collect();
    let inputs: Vec<Vec<f32>> =
        (0..32).map(|b| (0..cols).map(|c| ((c * 13 + b * 7) % 17) as f32 / 8.0 - 1.0).collect()).collect();
    let mut outputs = vec![vec![0f32; rows]; 32];
    for (storage, base) in
        [(Storage::F32, weights_f32.as_ptr() as *const u8), (Storage::Bf16, weights_16.as_ptr() as *const u8)]
    {
        let matrix = MatrixRef { base, rows, cols, storage };
        for &batch in &batches {
            let ins: Vec<*const f32> = inputs[..batch].iter().map(|x| x.as_ptr()).collect();
            let outs: Vec<*mut f32> = outputs[..batch].iter_mut().map(|o| o.as_mut_ptr()).collect();
            let mut best = f64::INFINITY;
            for _ in 0..5 {
                let start = thread_seconds();
                for _ in 0..calls {
                    // SAFETY: inputs and outputs are sized to the matrix.
                    unsafe { matvec(&matrix, 0..rows, &ins, &outs) };
                }
                best = best.min((thread_seconds() - start) / calls as f64);
            }
            let bytes = (rows * cols * storage.bytes()) as f64;
            let flops = 2.0 * (rows * cols * batch) as f64;
            println!(
                "{storage:?} batch {batch}: {:.2} ms, {:.1} GB/s, {:.1} GFLOP/s",
                best * 1e3,
                bytes / best / 1e9,
                flops / best / 1e9
            );
        }
    }
}

/// This thread's CPU time: unlike the wall clock, it does not count time
/// the thread spent waiting for a core, so a busy box skews it less.
fn thread_seconds() -> f64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec to write.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}
