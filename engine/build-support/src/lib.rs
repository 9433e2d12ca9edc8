//! Build-script helper for every crate that links libtorch.
//!
//! Why this exists: `torch-sys` tells the linker where libtorch is, but not
//! the loader, and the linker's `--as-needed` drops `libtorch_cuda.so`
//! because no symbol of ours refers to it — which silently turns a CUDA
//! build of libtorch into a CPU-only one. Each linking crate's `build.rs`
//! calls [`link_libtorch`], which adds an rpath (so binaries, tests and
//! benches run without `LD_LIBRARY_PATH`) and forces the GPU library in
//! when the libtorch build has one.

use std::path::PathBuf;
use std::process::Command;

/// Finds libtorch's `lib` directory the same way `torch-sys` does:
/// `$LIBTORCH/lib`, or the installed PyTorch when `LIBTORCH_USE_PYTORCH` is
/// set (the python on `PATH`, i.e. the project's virtual environment).
pub fn libtorch_lib_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("LIBTORCH_LIB") {
        return Some(PathBuf::from(dir).join("lib"));
    }
    if let Ok(dir) = std::env::var("LIBTORCH") {
        return Some(PathBuf::from(dir).join("lib"));
    }
    if std::env::var_os("LIBTORCH_USE_PYTORCH").is_some() {
        let python = std::env::var("PYTHON_SYS_EXECUTABLE").unwrap_or_else(|_| "python3".into());
        let out = Command::new(python)
            .args(["-c", "import torch, os; print(os.path.dirname(torch.__file__))"])
            .output()
            .ok()?;
        if out.status.success() {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
            return Some(PathBuf::from(dir).join("lib"));
        }
    }
    None
}

/// Emits the link arguments described in the crate docs.
pub fn link_libtorch() {
    for var in ["LIBTORCH", "LIBTORCH_LIB", "LIBTORCH_USE_PYTORCH", "VIRTUAL_ENV", "PYTHON_SYS_EXECUTABLE"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let Some(lib) = libtorch_lib_dir() else { return };
    let lib_str = lib.display();
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_str}");
    println!("cargo:rustc-env=LOGITLOOM_TORCH_LIB={lib_str}");
    for gpu_lib in ["torch_cuda", "torch_hip"] {
        if lib.join(format!("lib{gpu_lib}.so")).exists() {
            println!("cargo:rustc-link-arg=-L{lib_str}");
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
            println!("cargo:rustc-link-arg=-l{gpu_lib}");
            println!("cargo:rustc-link-arg=-Wl,--as-needed");
        }
    }
}

/// Test prerequisites that live outside Cargo (the project's Python
/// environment). A test that cannot run must not pass silently in CI: under
/// `CI=true` a missing prerequisite fails the test, elsewhere it prints
/// `SKIPPED: why` so a developer without the set-up can still run the rest.
pub mod prerequisite {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// The project's `.venv` python (`workspace_root/.venv/bin/python`)
    /// when it can run `probe` (Python source, e.g. `import torch`);
    /// otherwise reports the missing prerequisite (see [`missing`]).
    pub fn project_python(workspace_root: &Path, probe: &str) -> Option<PathBuf> {
        let python = workspace_root.join(".venv/bin/python");
        let ok = Command::new(&python).args(["-c", probe]).output().is_ok_and(|o| o.status.success());
        if ok {
            return Some(python);
        }
        missing(&format!("{} cannot run `{probe}` (run ./dev.sh setup)", python.display()));
        None
    }

    /// Fails under `CI=true`; otherwise prints why the test is skipped.
    pub fn missing(why: &str) {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true and a test prerequisite is missing: {why}");
        }
        eprintln!("SKIPPED: {why}");
    }
}
