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
        assert_eq!(
            parse_device("tpu").unwrap_err().to_string(),
            "unknown device `tpu` (expected auto, cpu, cuda or cuda:N)"
        );
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

// libtorch has no C binding for the autocast dtype and tch does not set it,
// so CUDA autocast runs in its default, float16. Without a gradient scaler
// fp16 backward flushes the small "push this logit down" gradients
// (p_i / tokens ≈ 1e-9) to zero while the target's survives, and training
// drifts upward (seen on an H200: loss 6.1 at step 100, 46 at step 4000).
// Both functions take scoped enums backed by int8_t (c10::DeviceType,
// c10::ScalarType), which the Itanium C++ ABI passes like C's int8_t.
extern "C" {
    #[link_name = "_ZN2at8autocast18set_autocast_dtypeEN3c1010DeviceTypeENS1_10ScalarTypeE"]
    fn at_autocast_set_autocast_dtype(device_type: i8, dtype: i8);
    #[link_name = "_ZN2at8autocast18get_autocast_dtypeEN3c1010DeviceTypeE"]
    fn at_autocast_get_autocast_dtype(device_type: i8) -> i8;
}

const C10_DEVICE_CUDA: i8 = 1;
const C10_SCALAR_HALF: i8 = 5;
const C10_SCALAR_BFLOAT16: i8 = 15;

/// The dtype CUDA autocast computes in: `Kind::Half` or `Kind::BFloat16`.
pub fn cuda_autocast_kind() -> Kind {
    // SAFETY: a plain getter of a process-wide setting in libtorch_cpu.
    match unsafe { at_autocast_get_autocast_dtype(C10_DEVICE_CUDA) } {
        C10_SCALAR_HALF => Kind::Half,
        C10_SCALAR_BFLOAT16 => Kind::BFloat16,
        other => panic!("unexpected CUDA autocast dtype code {other}"),
    }
}

/// Makes CUDA autocast (`tch::autocast`) compute in bf16, or in f16.
pub fn set_cuda_autocast_kind(kind: Kind) {
    let code = match kind {
        Kind::BFloat16 => C10_SCALAR_BFLOAT16,
        Kind::Half => C10_SCALAR_HALF,
        other => panic!("CUDA autocast computes in bf16 or f16, not {other:?}"),
    };
    // SAFETY: a plain setter of a process-wide setting; valid codes only.
    unsafe { at_autocast_set_autocast_dtype(C10_DEVICE_CUDA, code) }
}

#[cfg(test)]
mod autocast_tests {
    use super::*;

    #[test]
    fn cuda_autocast_dtype_round_trips_through_libtorch() {
        // libtorch's default for CUDA autocast is float16; the setting is
        // global, so this test restores it.
        assert_eq!(cuda_autocast_kind(), Kind::Half);
        set_cuda_autocast_kind(Kind::BFloat16);
        assert_eq!(cuda_autocast_kind(), Kind::BFloat16);
        set_cuda_autocast_kind(Kind::Half);
        assert_eq!(cuda_autocast_kind(), Kind::Half);
    }
}
