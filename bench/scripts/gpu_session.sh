#!/usr/bin/env bash
# Every GPU check and benchmark in one call, for a machine that has PyTorch
# but no Rust (the project's lent H100/H200 machines): build here, carry the
# binaries, run there.
#
# Here:
#   ./dev.sh cargo build --release --workspace --bins --examples
#   bench/scripts/gpu_session.sh --pack          # fills gpu-carry/ (stripped binaries)
#   device run, carry ["gpu-carry", "data/jdk-java"]:
#       bash bench/scripts/gpu_session.sh gpu-carry "$OUT" [TRAIN_SECONDS]
#
# What it does, each part on its own so one failure does not hide the rest:
#   1. CUDA smoke test: greedy text from the default model on cuda and on cpu.
#   2. Decode speed against transformers (bench/scripts/decode_vs_hf.py).
#   3. Training throughput, GPT-2 124M, batch 16 x 1024, bf16, ours then the
#      PyTorch reference (trainer/scripts/reference_train.py), with MFU.
#   4. Trains a default-model candidate on data/jdk-java for TRAIN_SECONDS
#      (configs/train/default-gpu.toml, its step count fitted to the time
#      from a short calibration run) and exports the best checkpoint as f16.
# Everything lands in OUT: gpu.log, decode_gpu.json, train-log.jsonl,
# model/{config.json,model.safetensors,tokenizer.json}.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

if [ "${1:-}" = "--pack" ]; then
  set -e
  rm -rf gpu-carry && mkdir -p gpu-carry
  grep -qx '/gpu-carry/' .git/info/exclude 2>/dev/null || echo '/gpu-carry/' >> .git/info/exclude
  for exe in target/release/logitloom target/release/examples/decode_bench; do
    objcopy --strip-debug "$exe" "/tmp/$(basename "$exe")"
  done
  # Compressed, the binaries take ~16 MB of the device tool's 64 MiB.
  tar -C /tmp -cJf gpu-carry/bins.tar.xz logitloom decode_bench
  du -sh gpu-carry/*
  exit 0
fi

CARRY="$(cd "${1:-gpu-carry}" && pwd)"
if [ -f "$CARRY/bins.tar.xz" ] && [ ! -x "$CARRY/logitloom" ]; then
  "${PYTHON:-python3}" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$CARRY/bins.tar.xz" "$CARRY"
fi
OUT="${2:-.}"
TRAIN_SECONDS="${3:-180}"
# GPU_SESSION_DRY=1 rehearses the plumbing on a CPU machine with tiny sizes,
# so that the one device call a session gets does not die of a typo.
DRY="${GPU_SESSION_DRY:-0}"
if [ "$DRY" = 1 ]; then
  DEV=cpu DTYPE=f32 BENCH_STEPS=8 BENCH_BATCH=1 BENCH_BLOCK=64 QUICK=--quick
else
  DEV=cuda DTYPE=bf16 BENCH_STEPS=40 BENCH_BATCH=16 BENCH_BLOCK=1024 QUICK=
fi
PY="${PYTHON:-python3}"
TORCH_LIB="$("$PY" -c 'import torch, os; print(os.path.dirname(torch.__file__))')/lib"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONUNBUFFERED=1
exec > >(tee -a "$OUT/gpu.log") 2>&1
# GPU_SESSION_PARTS picks parts (e.g. "3 4" to rerun the training parts).
PARTS=" ${GPU_SESSION_PARTS:-1 2 3 4} "
want() { [[ "$PARTS" == *" $1 "* ]]; }
LL="$CARRY/logitloom"
part() { printf '\n===== %s (%s) =====\n' "$*" "$(date +%T)"; }

part "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || echo "no nvidia-smi"
"$PY" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'

if want 1; then
part "1. CUDA smoke test: greedy, default model, cuda vs cpu"
prompt='public class Stack {'
for dev in "$DEV" cpu; do
  timeout 60 "$LL" generate --device "$dev" --prompt "$prompt" --max-new-tokens 48 --chain configs/greedy.toml \
    > "/tmp/greedy-$dev.txt" || echo "FAILED: generate on $dev"
done
cat "/tmp/greedy-$DEV.txt"; echo
if cmp -s "/tmp/greedy-$DEV.txt" /tmp/greedy-cpu.txt; then echo "greedy text identical on $DEV and cpu"; else
  echo "greedy text differs:"; diff "/tmp/greedy-$DEV.txt" /tmp/greedy-cpu.txt; fi

fi
if want 2; then
part "2. decode speed vs transformers"
[ "$DRY" = 1 ] && echo "(dry run: skipped)" || timeout 240 "$PY" bench/scripts/decode_vs_hf.py --device "$DEV" $QUICK --exe "$CARRY/decode_bench" --json "$OUT/decode_gpu.json" \
  || echo "FAILED: decode benchmark"

fi
if want 3; then
part "3. training throughput, GPT-2 124M, 16 x 1024, bf16"
BENCH_DATA=/tmp/bench-data-50k
"$PY" - "$BENCH_DATA" data/jdk-java <<'PY'
# Throughput does not depend on what the tokens say: random ids with a
# GPT-2-sized vocabulary stand in for a prepared corpus.
import json, os, shutil, sys
import numpy as np
out, source = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
meta = json.load(open(f"{source}/meta.json"))
meta["vocab_size"] = 50257
json.dump(meta, open(f"{out}/meta.json", "w"))
import hashlib, struct
rng = np.random.default_rng(0)
def write_tokens(path, count):
    # trainer/src/tokens.rs: magic, version 1, width 2, count, SHA-256 prefix.
    payload = rng.integers(0, 50257, count, dtype=np.uint16).astype("<u2").tobytes()
    check = int.from_bytes(hashlib.sha256(payload).digest()[:8], "little")
    with open(path, "wb") as f:
        f.write(b"LLOOMTOK" + struct.pack("<IIQQ", 1, 2, count, check) + payload)
write_tokens(f"{out}/train.bin", 4_000_000)
write_tokens(f"{out}/val.bin", 200_000)
shutil.copy(f"{source}/tokenizer.json", out)
PY
cat > /tmp/gpu-bench.toml <<TOML
[data]
dir = "$BENCH_DATA"
[model]
preset = "gpt2"
block_size = $BENCH_BLOCK
[optim]
warmup_steps = 0
[train]
max_steps = $BENCH_STEPS
batch_size = $BENCH_BATCH
device = "$DEV"
dtype = "$DTYPE"
[eval]
interval = 1000000
iters = 1
[out]
dir = "/tmp/gpu-bench-run"
TOML
rm -rf /tmp/gpu-bench-run
if timeout 180 "$LL" train --config /tmp/gpu-bench.toml; then
  "$PY" - /tmp/gpu-bench-run/log.jsonl "$BENCH_STEPS" <<'PY'
import json, statistics, sys
skip = int(sys.argv[2]) // 8  # warm-up steps (allocator, cuDNN/cuBLAS heuristics)
rates = [r["tokens_per_sec"] for r in map(json.loads, open(sys.argv[1])) if r["event"] == "train" and r["step"] > skip]
rate = statistics.median(rates)
n_params = 124_439_808  # GPT-2 124M with a 50257 vocabulary, tied embeddings
flops = 6 * n_params + 12 * 12 * 768 * 1024
print(f"logitloom train: {rate:.0f} tokens/s (median of steps {skip + 1}+), MFU {100 * rate * flops / 989e12:.1f}% of 989 TFLOP/s")
losses = [r["loss"] for r in map(json.loads, open(sys.argv[1])) if r["event"] == "train"]
print(f"logitloom train: loss {losses[0]:.3f} at step 1, {losses[-1]:.3f} at step {len(losses)} (random tokens: ln 50257 = 10.825)")
PY
  "$PY" - "$BENCH_BATCH" "$BENCH_BLOCK" <<'PY'
import json, random, sys
random.seed(0)
batch_size, block = int(sys.argv[1]), int(sys.argv[2])
batch = lambda: [random.randrange(50257) for _ in range(batch_size * block)]
spec = {"block_size": block, "batch_size": batch_size, "lr": [6e-4] * 4, "inputs": [batch() for _ in range(4)],
        "targets": [batch() for _ in range(4)], "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1, "grad_clip": 1.0}
json.dump(spec, open("/tmp/gpu-bench-batches.json", "w"))
PY
  timeout 180 "$PY" trainer/scripts/reference_train.py /tmp/gpu-bench-run/last /tmp/gpu-bench-batches.json \
    --device "$DEV" $([ "$DTYPE" = bf16 ] && echo --bf16) --bench "$BENCH_STEPS" || echo "FAILED: reference training benchmark"
else
  echo "FAILED: logitloom train on cuda"
fi

fi
if want 4; then
part "4. default-model candidate, ${TRAIN_SECONDS}s of training"
DEFAULT_CONFIG=/tmp/default-gpu-base.toml
sed -e "s/^device = .*/device = \"$DEV\"/" -e "s/^dtype = .*/dtype = \"$DTYPE\"/" configs/train/default-gpu.toml > "$DEFAULT_CONFIG"
[ "$DRY" = 1 ] && sed -i -e 's/^batch_size = .*/batch_size = 2/' -e 's/^block_size = .*/block_size = 64/' "$DEFAULT_CONFIG"
sed -e 's/^max_steps = .*/max_steps = 40/' -e 's/^warmup_steps = .*/warmup_steps = 5/' -e 's|^dir = "runs/default-gpu"|dir = "/tmp/calibrate"|' \
  "$DEFAULT_CONFIG" > /tmp/calibrate.toml
rm -rf /tmp/calibrate
if timeout 90 "$LL" train --config /tmp/calibrate.toml >/tmp/calibrate.log 2>&1; then
  steps="$("$PY" - /tmp/calibrate/log.jsonl "$DEFAULT_CONFIG" "$TRAIN_SECONDS" <<'PY'
import json, statistics, sys, tomllib
rows = [r for r in map(json.loads, open(sys.argv[1])) if r["event"] == "train" and r["step"] > 10]
cfg = tomllib.load(open(sys.argv[2], "rb"))
tokens_per_step = cfg["train"]["batch_size"] * cfg["model"]["block_size"]
seconds_per_step = tokens_per_step / statistics.median(r["tokens_per_sec"] for r in rows)
# 15% for evaluations, checkpoints and start-up.
print(min(cfg["train"]["max_steps"], int(0.85 * float(sys.argv[3]) / seconds_per_step)))
PY
)"
  echo "calibrated: $steps steps fit in ${TRAIN_SECONDS}s"
  sed -e "s/^max_steps = .*/max_steps = $steps/" "$DEFAULT_CONFIG" > /tmp/default-gpu.toml
  rm -rf runs/default-gpu
  timeout -s INT $((TRAIN_SECONDS + 60)) "$LL" train --config /tmp/default-gpu.toml
  cp runs/default-gpu/log.jsonl "$OUT/train-log.jsonl"
  cp /tmp/default-gpu.toml "$OUT/train-config.toml"
  "$PY" trainer/scripts/export_f16.py runs/default-gpu/best "$OUT/model" || echo "FAILED: export"
else
  echo "FAILED: calibration run"; tail -5 /tmp/calibrate.log
fi
fi
part "done"
