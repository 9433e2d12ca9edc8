#!/usr/bin/env bash
# Hard-kill resumption check (issue 20): runs `bench` and `train` once
# uninterrupted, then again killed with SIGKILL at random points and resumed
# until done, and compares the final results with the uninterrupted ones.
#
#   bench/scripts/kill_resume.sh [KILLS] [BIN]     (default 20 kills each, target/debug/logitloom)
#
# Kill points are spread over the run: each kill waits for the results file
# to grow by a random 0-2 records (bench) or the log by a random number of
# steps (train), then a random fraction of one record's (step's) time, so
# kills land inside the generation grid and the training loop, not only in
# the report stage. Prints one line per kill and a verdict per phase.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
KILLS="${1:-20}"
BIN="${2:-$ROOT/target/debug/logitloom}"
eval "$("$ROOT/dev.sh" env)"
W="$(mktemp -d /tmp/kill-resume.XXXXXX)"
echo "work dir $W"

# Complete lines only (a line a kill cut short has no newline yet).
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
rand() { python3 -c "import random; print(random.$1)"; }

# Results with timing fields dropped (they differ run to run by nature).
normalise_bench() {
  python3 - "$1" <<'PY'
import json, sys
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if not (k.endswith("seconds") or k in ("tokens_per_second",))}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
rows = {}
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    rows[r["key"]] = strip(r)
print(json.dumps(rows, sort_keys=True))
PY
}

# ---------------------------------------------------------------- bench
mkdir -p "$W/bench/prompts"
cp "$ROOT"/bench/prompts/{gcd,fibonacci,bubble_sort}.java "$W/bench/prompts/"
cat > "$W/bench/suite.toml" <<TOML
name = "kill_resume"
models = ["$ROOT/models/default"]
prompts = ["prompts"]
seeds = [1, 2]
max_new_tokens = 24
batch_size = 2

[[chains]]
name = "greedy"
[[chains.stage]]
plugin = "greedy"

[[chains]]
name = "top_k40"
file = "$ROOT/configs/top_k40.toml"
TOML
bench() { "$BIN" bench --quiet --device cpu --suite "$W/bench/suite.toml" --out "$1" >>"$W/bench.log" 2>&1; }
start=$(date +%s.%N)
bench "$W/bench/ref" || { echo "reference bench run failed"; tail "$W/bench.log"; exit 1; }
T=$(python3 -c "import time; print(max(0.5, time.time() - $start))")
TOTAL=$(lines "$W/bench/ref/results.jsonl")
PER=$(python3 -c "print($T / $TOTAL)")
echo "bench reference: $TOTAL generations in ${T}s"
normalise_bench "$W/bench/ref/results.jsonl" >"$W/bench/ref.json"

kills=0; trial=0; bench_ok=0; bench_bad=0
while [ "$kills" -lt "$KILLS" ]; do
  trial=$((trial + 1)); out="$W/bench/t$trial"
  while :; do
    "$BIN" bench --quiet --device cpu --suite "$W/bench/suite.toml" --out "$out" >>"$W/bench.log" 2>&1 &
    pid=$!
    before=$(lines "$out/results.jsonl"); want=$((before + $(rand 'randint(0, 2)')))
    while kill -0 $pid 2>/dev/null && [ "$(lines "$out/results.jsonl")" -lt "$want" ]; do sleep 0.05; done
    sleep "$(rand "uniform(0, $PER)")"
    if kill -0 $pid 2>/dev/null && [ "$kills" -lt "$KILLS" ]; then
      kill -9 $pid; wait $pid 2>/dev/null
      kills=$((kills + 1))
      echo "bench kill $kills: trial $trial, at $(lines "$out/results.jsonl")/$TOTAL records on disk"
    else
      wait $pid; break
    fi
  done
  # Finish the trial if the last kill left it unfinished.
  [ -f "$out/report.md" ] || bench "$out"
  if [ "$(normalise_bench "$out/results.jsonl")" == "$(cat "$W/bench/ref.json")" ]; then
    bench_ok=$((bench_ok + 1)); echo "bench trial $trial: $TOTAL/$TOTAL results identical to the uninterrupted run"
  else
    bench_bad=$((bench_bad + 1)); echo "bench trial $trial: RESULTS DIFFER"; normalise_bench "$out/results.jsonl" >"$out/norm.json"
  fi
done
echo "bench: $kills SIGKILLs over $trial trials; $bench_ok trials identical, $bench_bad differ"

# ---------------------------------------------------------------- train
mkdir -p "$W/train/src"
cp "$ROOT"/bench/prompts/*.java "$W/train/src/"
"$BIN" prepare "$W/train/src" --out "$W/train/data" --vocab-size 400 >>"$W/train.log" 2>&1 || { echo "prepare failed"; tail "$W/train.log"; exit 1; }
train_config() {
  cat > "$W/train/$1.toml" <<TOML
[data]
dir = "$W/train/data"
[model]
preset = "tiny"
n_layer = 1
n_head = 2
n_embd = 32
block_size = 32
[optim]
warmup_steps = 5
[train]
max_steps = 80
batch_size = 4
seed = 7
device = "cpu"
threads = 1
[eval]
interval = 8
iters = 2
[out]
dir = "$W/train/$1"
TOML
}
final_state() { python3 - "$1" <<'PY'
import hashlib, json, sys
run = sys.argv[1]
# Every record but its wall-clock fields, as written (floats as text).
rows = [json.loads(l, parse_float=str) for l in open(run + "/log.jsonl", encoding="utf-8")]
for r in rows:
    r.pop("tokens_per_sec", None); r.pop("elapsed_s", None)
log = json.dumps(rows, sort_keys=True).encode()
w = hashlib.sha256(open(run + "/last/model.safetensors", "rb").read()).hexdigest()
last = [r for r in rows if r.get("event") == "train"][-1]
print("log", hashlib.sha256(log).hexdigest()[:16], "weights", w[:16], "steps", len([r for r in rows if r.get("event") == "train"]), "final loss", last["loss"])
PY
}
train_config ref
start=$(date +%s.%N)
"$BIN" train --config "$W/train/ref.toml" >>"$W/train.log" 2>&1 || { echo "reference train failed"; tail "$W/train.log"; exit 1; }
TT=$(python3 -c "import time; print(max(0.5, time.time() - $start))")
REF=$(final_state "$W/train/ref")
echo "train reference: 80 steps in ${TT}s; $REF"
kills=0; trial=0; train_ok=0; train_bad=0
while [ "$kills" -lt "$KILLS" ]; do
  trial=$((trial + 1)); name="t$trial"; train_config "$name"; resume=""; done_=0
  while :; do
    "$BIN" train --config "$W/train/$name.toml" $resume >>"$W/train.log" 2>&1 &
    pid=$!
    sleep "$(rand "uniform(0.3, $TT * 0.6)")"
    if kill -0 $pid 2>/dev/null && [ "$kills" -lt "$KILLS" ]; then
      kill -9 $pid; wait $pid 2>/dev/null
      kills=$((kills + 1))
      echo "train kill $kills: trial $trial, log at $(lines "$W/train/$name/log.jsonl") lines"
      [ -d "$W/train/$name/last" ] && resume="--resume"
    else
      wait $pid; rc=$?
      if [ $rc -ne 0 ]; then echo "train trial $trial: exit $rc"; tail -3 "$W/train.log"; fi
      done_=1
      break
    fi
  done
  [ $done_ -eq 1 ] || "$BIN" train --config "$W/train/$name.toml" $resume >>"$W/train.log" 2>&1
  GOT=$(final_state "$W/train/$name")
  if [ "$GOT" == "$REF" ]; then train_ok=$((train_ok + 1)); echo "train trial $trial: log and final weights identical";
  else train_bad=$((train_bad + 1)); echo "train trial $trial: DIFFERS: $GOT"; fi
done
echo "train: $kills SIGKILLs over $trial trials; $train_ok trials identical, $train_bad differ"
[ $bench_bad -eq 0 ] && [ $train_bad -eq 0 ]
