#!/usr/bin/env bash
# The stronger default model in one call on a GPU machine (PyTorch, no Rust):
# tokenize the carried corpus, measure training throughput at three sizes,
# pick the size that the Chinchilla loss fit says ends lowest in the time
# given, train it, export it as f16, and score old and new model per byte.
#
# Here (after `logitloom prepare --by-project ... --export-text -o DATA`):
#   bench/scripts/gpu_corpus_run.sh --pack DATA      # fills gpu-carry/ and checks the 64 MiB budget
#   device run, carry ["gpu-carry"], timeout_s 600:
#       bash bench/scripts/gpu_corpus_run.sh gpu-carry "$OUT" [TRAIN_SECONDS]
#   afterwards, here:   cat OUT/model.safetensors.part* > models/NEW/model.safetensors
#                       tar -xf OUT/model-files.tar -C models/NEW
#
# TRAIN_SECONDS defaults to 330: one command may run 10 minutes, and
# tokenizing (~1 min), three throughput probes (~1.5 min), scoring and export
# take the rest. GPU_RUN_PARTS="prep bench" then GPU_RUN_PARTS="train" splits
# it over two calls on a warm machine (state in /tmp/llrun) for ~8 minutes of
# training; GPU_RUN_DRY=1 rehearses everything on a CPU with tiny sizes.
#
# Back in OUT (at most 8 files, 16 MiB each): gpu.log, summary.json,
# train-log.jsonl, model-files.tar (config.json, tokenizer.json,
# generation_config.json), model.safetensors.part00.. (f16, 15 MiB pieces).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

if [ "${1:-}" = "--pack" ]; then
  set -e
  DATA="${2:?usage: --pack PREPARED_DIR (prepared with --export-text)}"
  for f in meta.json tokenizer.json text/train.txt text/val.txt; do
    [ -f "$DATA/$f" ] || { echo "error: $DATA/$f is missing; run logitloom prepare --by-project --export-text" >&2; exit 1; }
  done
  rm -rf gpu-carry && mkdir -p gpu-carry
  EXCLUDE="$(git rev-parse --git-path info/exclude)"  # .git is a file in a worktree
  mkdir -p "$(dirname "$EXCLUDE")"
  grep -qx '/gpu-carry/' "$EXCLUDE" 2>/dev/null || echo '/gpu-carry/' >> "$EXCLUDE"
  # The JDK (test split) is scored on a sample there: carry at most ~8 MB of it.
  STAGE=$(mktemp -d)
  mkdir -p "$STAGE/corpus/text"
  cp "$DATA/meta.json" "$DATA/tokenizer.json" "$STAGE/corpus/"
  ln -s "$(realpath "$DATA/text/val.txt")" "$STAGE/corpus/text/val.txt"
  # Source compresses ~8x with xz: the training text is cut to MAX_TRAIN_MB
  # (every k-th file, so every project keeps a share) to fit the upload.
  python3 - "$DATA/text" "$STAGE/corpus/text" "${MAX_TRAIN_MB:-280}" <<'PY'
import os, sys
source, target, max_train = sys.argv[1], sys.argv[2], float(sys.argv[3]) * 1e6
for split, limit in (("train", max_train), ("test", 8e6)):  # the JDK is only scored there: a sample
    path = os.path.join(source, f"{split}.txt")
    if not os.path.exists(path):
        continue
    files = [f for f in open(path, encoding="utf-8").read().split("<|endoftext|>") if f]
    total = sum(len(f.encode()) for f in files)
    keep = len(files) if total <= limit else int(len(files) * limit / total)
    chosen = [files[int(i * len(files) / keep)] for i in range(keep)] if keep < len(files) else files
    open(os.path.join(target, f"{split}.txt"), "w", encoding="utf-8").write("".join(f + "<|endoftext|>" for f in chosen))
    print(f"{split}: {len(chosen)} of {len(files)} files, {sum(len(f.encode()) for f in chosen) / 1e6:.0f} of {total / 1e6:.0f} MB")
PY
  tar -C "$STAGE" -chf - corpus | xz -9e -T2 > gpu-carry/corpus.tar.xz
  rm -rf "$STAGE"
  tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
  budget=$((64 * 1048576 - tree - 1048576))  # 1 MiB of slack for untracked files
  if [ -x target/release/logitloom ]; then
    objcopy --strip-debug target/release/logitloom /tmp/logitloom
    tar -C /tmp -cJf gpu-carry/bins.tar.xz logitloom
    if [ $(du -cb gpu-carry/* | tail -1 | cut -f1) -gt $budget ]; then
      echo "the Rust binary does not fit beside the corpus: left out (the run skips the Rust trainer's comparison)"
      rm gpu-carry/bins.tar.xz
    fi
  fi
  carry=$(du -cb gpu-carry/* | tail -1 | cut -f1)
  du -b gpu-carry/*
  echo "working tree $((tree / 1048576)) MiB + carry $((carry / 1048576)) MiB of the 64 MiB a call may send"
  if [ $carry -gt $budget ]; then
    echo "error: over budget; lower MAX_TRAIN_MB (now ${MAX_TRAIN_MB:-280})" >&2
    exit 1
  fi
  exit 0
fi

CARRY="$(cd "${1:-gpu-carry}" && pwd)"
OUT="${2:-.}"
TRAIN_SECONDS="${3:-330}"
PARTS=" ${GPU_RUN_PARTS:-prep bench train} "
want() { [[ "$PARTS" == *" $1 "* ]]; }
if [ -x /opt/torch/.venv/bin/python ]; then PY=/opt/torch/.venv/bin/python; else PY="${PYTHON:-python3}"; fi
STATE=/tmp/llrun
mkdir -p "$STATE"
export PYTHONUNBUFFERED=1
exec > >(tee -a "$OUT/gpu.log") 2>&1
part() { printf '\n===== %s (%s) =====\n' "$*" "$(date +%T)"; }
if [ "${GPU_RUN_DRY:-0}" = 1 ]; then
  DEV=cpu DTYPE=f32 BLOCK=64 BATCH=4 PROBE_STEPS=6 SIZES="2,2,32 2,2,48 3,3,48" EVAL_ITERS=2 SCORE_FILES=4
else
  DEV=cuda DTYPE=bf16 BLOCK=512 BATCH=64 PROBE_STEPS=40 SIZES="6,6,384 12,6,384 8,8,512" EVAL_ITERS=40 SCORE_FILES=1000
fi

part "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
"$PY" -c 'import torch, transformers, tokenizers; print("torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__)'

config() {  # config NAME N_LAYER N_HEAD N_EMBD MAX_STEPS WARMUP EVAL_INTERVAL
  cat > "$STATE/$1.toml" <<TOML
[data]
dir = "$STATE/data"
[model]
n_layer = $2
n_head = $3
n_embd = $4
block_size = $BLOCK
dropout = 0.0
[optim]
lr = 1e-3
min_lr = 1e-4
warmup_steps = $6
[train]
max_steps = $5
batch_size = $BATCH
device = "$DEV"
dtype = "$DTYPE"
[eval]
interval = $7
iters = $EVAL_ITERS
[out]
dir = "$STATE/run-$1"
TOML
}

if want prep; then
part "1. corpus: unpack and tokenize"
rm -rf "$STATE/corpus" "$STATE/data"
"$PY" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$CARRY/corpus.tar.xz" "$STATE"
if [ -f "$CARRY/bins.tar.xz" ]; then "$PY" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$CARRY/bins.tar.xz" "$STATE"; fi
time "$PY" trainer/scripts/tokenize_text.py "$STATE/corpus" "$STATE/data" || { echo "FAILED: tokenizing"; exit 1; }
fi

if want bench; then
part "2. throughput at three sizes (ddp_train.py, 1 rank, $DTYPE, batch $BATCH x $BLOCK)"
: > "$STATE/throughput.jsonl"
for size in $SIZES; do
  IFS=, read -r L H E <<<"$size"
  config "probe-$L-$E" "$L" "$H" "$E" "$PROBE_STEPS" 0 1000000
  rm -rf "$STATE/run-probe-$L-$E"
  timeout 120 "$PY" trainer/scripts/ddp_train.py --config "$STATE/probe-$L-$E.toml" >"$STATE/probe.log" 2>&1 || { echo "FAILED: probe $size"; tail -5 "$STATE/probe.log"; continue; }
  "$PY" - "$STATE/run-probe-$L-$E/log.jsonl" "$L" "$H" "$E" "$STATE/data/meta.json" "$BLOCK" >>"$STATE/throughput.jsonl" <<'PY'
import json, statistics, sys
log, L, H, E, meta, block = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5], int(sys.argv[6])
rows = [r for r in map(json.loads, open(log)) if r["event"] == "train"]
rate = statistics.median(r["tokens_per_sec"] for r in rows[len(rows) // 4:])  # skip warm-up steps
vocab = json.load(open(meta))["vocab_size"]
blocks = 12 * L * E * E + 13 * L * E + 2 * E
print(json.dumps({"trainer": "ddp_train.py", "n_layer": L, "n_head": H, "n_embd": E, "params": blocks + vocab * E + block * E,
                  "non_embedding_params": blocks, "tokens_per_sec": rate, "last_loss": rows[-1]["loss"]}))
PY
  tail -1 "$STATE/throughput.jsonl"
done
part "3. the size: Chinchilla's fit L(N, D) = 1.69 + 406.4/N^0.34 + 410.7/D^0.28 with D = tokens/s x ${TRAIN_SECONDS}s"
"$PY" - "$STATE/throughput.jsonl" "$TRAIN_SECONDS" >"$STATE/choice.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
seconds = float(sys.argv[2])
for r in rows:
    r["tokens"] = 0.9 * r["tokens_per_sec"] * seconds  # evaluations and checkpoints take the rest
    r["chinchilla_loss"] = 1.69 + 406.4 / r["params"] ** 0.34 + 410.7 / r["tokens"] ** 0.28
    r["tokens_per_param"] = r["tokens"] / r["params"]
best = min(rows, key=lambda r: r["chinchilla_loss"])
print(json.dumps({"candidates": rows, "chosen": best}))
PY
"$PY" - "$STATE/choice.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for r in c["candidates"]:
    print(f"{r['n_layer']}x{r['n_embd']}: {r['params'] / 1e6:.1f}M params, {r['tokens_per_sec'] / 1e6:.3f}M tokens/s, "
          f"{r['tokens'] / 1e6:.0f}M tokens ({r['tokens_per_param']:.0f}/param), predicted loss {r['chinchilla_loss']:.3f}")
print(f"chosen: {c['chosen']['n_layer']}x{c['chosen']['n_embd']}")
PY
if [ -x "$STATE/logitloom" ]; then
  part "3b. the Rust trainer at the chosen size, for comparison"
  read -r L H E < <("$PY" -c 'import json, sys; b = json.load(open(sys.argv[1]))["chosen"]; print(b["n_layer"], b["n_head"], b["n_embd"])' "$STATE/choice.json")
  config rust-probe "$L" "$H" "$E" "$PROBE_STEPS" 0 1000000
  rm -rf "$STATE/run-rust-probe"
  if timeout 120 "$STATE/logitloom" train --config "$STATE/rust-probe.toml" >"$STATE/rust-probe.log" 2>&1; then
    "$PY" -c 'import json, statistics, sys; rows = [r for r in map(json.loads, open(sys.argv[1])) if r["event"] == "train"]
print(json.dumps({"trainer": "logitloom train", "tokens_per_sec": statistics.median(r["tokens_per_sec"] for r in rows[len(rows) // 4:])}))' \
      "$STATE/run-rust-probe/log.jsonl" | tee "$STATE/rust.json"
  else
    echo "FAILED: logitloom train"; tail -5 "$STATE/rust-probe.log"
  fi
fi
fi

if want train; then
part "4. training for ${TRAIN_SECONDS}s"
read -r L H E RATE < <("$PY" -c 'import json, sys; b = json.load(open(sys.argv[1]))["chosen"]; print(b["n_layer"], b["n_head"], b["n_embd"], b["tokens_per_sec"])' "$STATE/choice.json")
TRAINER=ddp
if [ -f "$STATE/rust.json" ] && "$PY" -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))["tokens_per_sec"] > float(sys.argv[2]) else 1)' "$STATE/rust.json" "$RATE"; then
  TRAINER=rust
  RATE=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["tokens_per_sec"])' "$STATE/rust.json")
fi
STEPS=$("$PY" -c "print(max(10, int(0.9 * $RATE * $TRAIN_SECONDS / ($BATCH * $BLOCK))))")
echo "trainer: $TRAINER; $STEPS steps of $BATCH x $BLOCK tokens at ${RATE} tokens/s"
config final "$L" "$H" "$E" "$STEPS" $((STEPS / 50 + 1)) $((STEPS / 10 + 1))
rm -rf "$STATE/run-final"
if [ "$TRAINER" = rust ]; then
  timeout -s INT $((TRAIN_SECONDS + 90)) "$STATE/logitloom" train --config "$STATE/final.toml" || echo "FAILED or stopped: logitloom train"
else
  timeout $((TRAIN_SECONDS + 120)) "$PY" trainer/scripts/ddp_train.py --config "$STATE/final.toml" --max-seconds "$((TRAIN_SECONDS + 30))" || echo "FAILED: ddp_train.py"
fi
part "5. export (f16) and loss per byte, old and new model"
cp "$STATE/run-final/log.jsonl" "$OUT/train-log.jsonl"
"$PY" trainer/scripts/export_f16.py "$STATE/run-final/best" "$STATE/model" || echo "FAILED: export"
[ -f "$STATE/run-final/best/generation_config.json" ] && cp "$STATE/run-final/best/generation_config.json" "$STATE/model/"
: > "$STATE/scores.jsonl"
for model in "$STATE/model" models/default; do
  for split in val test; do
    [ -f "$STATE/corpus/text/$split.txt" ] || continue
    timeout 200 "$PY" trainer/scripts/loss_per_byte.py "$model" "$STATE/corpus/text/$split.txt" --device "$DEV" --max-files "$SCORE_FILES" --json \
      | tee -a "$STATE/scores.jsonl" || echo "FAILED: scoring $model on $split"
  done
done
"$PY" - "$STATE" "$TRAINER" "$TRAIN_SECONDS" >"$OUT/summary.json" <<'PY'
import json, os, sys
state, trainer, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
load = lambda p: [json.loads(l) for l in open(p)] if os.path.exists(p) else []
log = load(f"{state}/run-final/log.jsonl")
evals = [r for r in log if r["event"] == "eval"]
print(json.dumps({"trainer": trainer, "train_seconds": seconds, "choice": json.load(open(f"{state}/choice.json")),
                  "rust": json.load(open(f"{state}/rust.json")) if os.path.exists(f"{state}/rust.json") else None,
                  "steps": max((r["step"] for r in log), default=0), "evals": evals, "scores": load(f"{state}/scores.jsonl"),
                  "data": json.load(open(f"{state}/data/meta.json"))}, indent=1))
PY
tar -C "$STATE/model" -cf "$OUT/model-files.tar" $(cd "$STATE/model" && ls | grep -v safetensors)
split -b 15M -d "$STATE/model/model.safetensors" "$OUT/model.safetensors.part"
ls -la "$OUT"
fi
part "done"
