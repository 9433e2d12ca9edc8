#!/usr/bin/env bash
# Decode speed on a GPU machine (which has PyTorch but no Rust): build here,
# carry the binary, run there.
#
# Here:   ./dev.sh cargo build --release -p logitloom-engine --example decode_bench
#         mkdir -p gpu-carry && cp target/release/examples/decode_bench bench/scripts/decode_vs_hf.py gpu-carry/
#         (gpu-carry/ is listed in .git/info/exclude; pass it to the device tool's `carry`)
# There:  bash bench/scripts/gpu_decode.sh gpu-carry "$OUT"
set -euo pipefail
carry="${1:-gpu-carry}"
out="${2:-.}"
python="${PYTHON:-/opt/torch/.venv/bin/python}"
torch_lib="$("$python" -c 'import torch, os; print(os.path.dirname(torch.__file__))')/lib"
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/gpu.txt"
"$python" "$carry/decode_vs_hf.py" --device cuda --exe "$carry/decode_bench" --json "$out/decode_gpu.json" | tee "$out/decode_gpu.md"
