#!/usr/bin/env bash
# Runs every fuzz target in turn for $SECONDS_EACH seconds (default 600) on
# one core, appending libFuzzer's final stats to fuzz/logs/. Usage, from the
# repository root:  fuzz/run_all.sh [seconds] [target...]
set -uo pipefail
cd "$(dirname "$0")/.."
each="${1:-600}"; shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(chain_toml plot_trace bench_suite wasm_exports java_grammar model_dir wasm_load)
mkdir -p fuzz/logs
./dev.sh cargo +nightly fuzz build --sanitizer none -a >fuzz/logs/build.log 2>&1 || { echo "build failed, see fuzz/logs/build.log"; exit 1; }
for t in "${targets[@]}"; do
  dict=(); [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
  mkdir -p "fuzz/corpus/$t"
  case "$t" in
    chain_toml) cp -n configs/*.toml "fuzz/corpus/$t/" 2>/dev/null ;;
    bench_suite) cp -n bench/suites/*.toml "fuzz/corpus/$t/" 2>/dev/null ;;
  esac
  echo "== $t $(date -u +%FT%TZ)" >>fuzz/logs/summary.txt
  ./dev.sh cargo +nightly fuzz run --sanitizer none -a "$t" -- -max_total_time="$each" -rss_limit_mb=4096 -timeout=20 "${dict[@]}" \
    >"fuzz/logs/$t.log" 2>&1
  echo "rc=$? $(grep -E '^#[0-9]+' fuzz/logs/$t.log | tail -1)" >>fuzz/logs/summary.txt
  grep -E 'Done [0-9]+ runs|SUMMARY|panicked' "fuzz/logs/$t.log" | tail -3 >>fuzz/logs/summary.txt
done
