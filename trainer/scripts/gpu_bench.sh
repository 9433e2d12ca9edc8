#!/usr/bin/env bash
# GPT-2 124M training throughput on one GPU: logitloom vs the PyTorch
# reference, batch 16 x 1024, bf16 autocast. Run from the repository root on
# a CUDA machine after ./dev.sh setup; prints tokens/s and MFU for both.
#
#   trainer/scripts/gpu_bench.sh [STEPS]
#
# Needs a prepared corpus with a GPT-2-sized vocabulary; it makes one from
# JDK 17's java.base if data/jdk-base-50k is missing (a few minutes).
set -euo pipefail
STEPS="${1:-30}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
eval "$(./dev.sh env)"
DATA=data/jdk-base-50k
RUN=runs/gpu-bench
cargo build --release -p logitloom-cli
if [ ! -f "$DATA/meta.json" ]; then
  target/release/logitloom prepare /usr/lib/jvm/openjdk-17/lib/src.zip --include java.base/ \
    --strip-license-headers --vocab-size 50257 -o "$DATA"
fi
rm -rf "$RUN"
cat > /tmp/gpu-bench.toml <<TOML
[data]
dir = "$DATA"
[model]
preset = "gpt2"
block_size = 1024
[optim]
warmup_steps = 0
[train]
max_steps = $STEPS
batch_size = 16
device = "cuda"
dtype = "bf16"
[eval]
interval = 1000000
iters = 1
[out]
dir = "$RUN"
TOML
target/release/logitloom train --config /tmp/gpu-bench.toml
python - "$RUN/log.jsonl" <<'PY'
import json, statistics, sys
rates = [r["tokens_per_sec"] for r in map(json.loads, open(sys.argv[1])) if r["event"] == "train" and r["step"] > 3]
rate = statistics.median(rates)
flops = 6 * 124e6 + 12 * 12 * 768 * 1024
print(f"logitloom: {rate:.0f} tokens/s (median of steps 4+), MFU {100 * rate * flops / 989e12:.1f}% of 989 TFLOP/s")
PY
# The reference starts from the same weights (the step-0 checkpoint is
# rewritten at the end, so make the initial one afresh) on random batches.
python - "$DATA" <<'PY'
import json, random, sys
random.seed(0)
meta = json.load(open(sys.argv[1] + "/meta.json"))
v = meta["vocab_size"]
batch = lambda: [random.randrange(v) for _ in range(16 * 1024)]
spec = {"block_size": 1024, "batch_size": 16, "lr": [6e-4] * 4, "inputs": [batch() for _ in range(4)],
        "targets": [batch() for _ in range(4)], "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1, "grad_clip": 1.0}
json.dump(spec, open("/tmp/gpu-bench-batches.json", "w"))
PY
python trainer/scripts/reference_train.py "$RUN/last" /tmp/gpu-bench-batches.json --device cuda --bf16 --bench "$STEPS"
