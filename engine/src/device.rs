//! Device and dtype selection.
//!
//! `auto` prefers CUDA (ROCm builds of libtorch present themselves as CUDA)
//! and falls back to the CPU with a one-line notice. Before asking libtorch
//! about CUDA we make sure its GPU library is loaded: the linker drops
//! `libtorch_cuda.so` when nothing refers to it, and then libtorch reports no
//! GPU even on a GPU machine.

use std::sync::Once;

use tch::{Device, Kind};

use crate::EngineError;

static LOAD_GPU_LIBRARY: Once = Once::new();

/// Loads `libtorch_cuda.so` / `libtorch_hip.so` if they exist. Harmless when
/// they were already linked in or do not exist (CPU-only libtorch).
pub fn ensure_gpu_backend_loaded() {
    LOAD_GPU_LIBRARY.call_once(|| {
        let baked_dir = option_env!("LOGITLOOM_TORCH_LIB");
        for name in ["libtorch_cuda.so", "libtorch_hip.so"] {
            let mut candidates = vec![name.to_string()];
            if let Some(dir) = baked_dir {
                candidates.push(format!("{dir}/{name}"));
            }
            for candidate in candidates {
                let c_name = std::ffi::CString::new(candidate).expect("no NUL in library name");
                // SAFETY: dlopen with a valid C string; the handle is
                // deliberately leaked so the library stays loaded.
                let handle = unsafe { libc::dlopen(c_name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
                if !handle.is_null() {
                    break;
                }
            }
        }
    });
}

/// Number of CUDA (or ROCm) devices libtorch can use.
pub fn cuda_device_count() -> usize {
    ensure_gpu_backend_loaded();
    if tch::Cuda::is_available() {
        tch::Cuda::device_count() as usize
    } else {
        0
    }
}

/// Parses `auto`, `cpu`, `cuda` or `cuda:N`.
pub fn parse_device(spec: &str) -> Result<Device, EngineError> {
    let spec_trim = spec.trim();
    match spec_trim {
        "cpu" => Ok(Device::Cpu),
        "auto" => {
            if cuda_device_count() > 0 {
                Ok(Device::Cuda(0))
            } else {
                eprintln!("note: no CUDA/ROCm device found, running on the CPU");
                Ok(Device::Cpu)
            }
        }
        "cuda" | "gpu" => {
            if cuda_device_count() == 0 {
                return Err(EngineError::CudaUnavailable(spec_trim.to_string()));
            }
            Ok(Device::Cuda(0))
        }
        other => {
            let index = other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| EngineError::UnknownDevice(other.to_string()))?;
            let available = cuda_device_count();
            if available == 0 {
                return Err(EngineError::CudaUnavailable(other.to_string()));
            }
            if index >= available {
                return Err(EngineError::NoSuchCudaDevice { requested: other.to_string(), available });
            }
            Ok(Device::Cuda(index))
        }
    }
}

/// Parses `f32`, `bf16` or `f16`.
pub fn parse_dtype(spec: &str) -> Result<Kind, EngineError> {
    match spec.trim() {
        "f32" | "float32" | "fp32" => Ok(Kind::Float),
        "bf16" | "bfloat16" => Ok(Kind::BFloat16),
        "f16" | "float16" | "fp16" => Ok(Kind::Half),
        other => Err(EngineError::UnknownDType(other.to_string())),
    }
}

/// A short human name for the device, for timing lines.
pub fn describe(device: Device) -> String {
    match device {
        Device::Cpu => format!("cpu ({} threads)", tch::get_num_threads()),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_devices_and_rejects_unknown_ones() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert_eq!(parse_device("tpu").unwrap_err().to_string(), "unknown device `tpu` (expected auto, cpu, cuda or cuda:N)");
        assert!(matches!(parse_device("cuda:x"), Err(EngineError::UnknownDevice(_))));
        if cuda_device_count() == 0 {
            assert_eq!(
                parse_device("cuda").unwrap_err().to_string(),
                "device `cuda` was requested but this libtorch sees no CUDA/ROCm device"
            );
            assert_eq!(parse_device("auto").unwrap(), Device::Cpu);
        }
    }

    #[test]
    fn parses_dtypes() {
        assert_eq!(parse_dtype("bf16").unwrap(), Kind::BFloat16);
        assert_eq!(parse_dtype("f32").unwrap(), Kind::Float);
        assert_eq!(parse_dtype("f64").unwrap_err().to_string(), "unknown dtype `f64` (expected f32, bf16 or f16)");
    }
}
