#!/usr/bin/env bash
# Runs every fuzz target in turn for SECONDS_EACH seconds (default 600) on
# one core, then appends libFuzzer's final stats to fuzz/logs/summary.txt.
# From the repository root:
#
#   fuzz/run_all.sh [SECONDS_EACH] [TARGET...]
#
# It builds once (nightly, `cargo fuzz build --sanitizer none -a`: the code
# is safe Rust apart from the ABI layers, and debug assertions catch integer
# overflow) and then runs the built binaries, so editing the tree while it
# runs cannot trigger a rebuild between targets.
#
# Coverage carries over between machines: each target starts from its
# committed seed corpus, fuzz/seeds/TARGET.tar.xz (what earlier runs found,
# minimised), and with SAVE_SEEDS=1 the run's corpus is minimised
# (libFuzzer -merge=1) and packed back there, to commit. Crashes land in
# fuzz/artifacts/TARGET/; reproduce one with
#   fuzz/target/x86_64-unknown-linux-gnu/release/TARGET fuzz/artifacts/TARGET/crash-...
set -uo pipefail
cd "$(dirname "$0")/.."
each="${1:-600}"; shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(chain_toml plot_trace bench_suite wasm_exports java_grammar model_dir wasm_load)
mkdir -p fuzz/logs
if [ -z "${NO_BUILD:-}" ]; then
  # A fresh machine has the nightly toolchain but not the cargo subcommand.
  cargo fuzz --version >/dev/null 2>&1 || cargo install -q --locked cargo-fuzz ||
    { echo "cannot install cargo-fuzz (cargo install --locked cargo-fuzz)"; exit 1; }
  ./dev.sh cargo +nightly fuzz build --sanitizer none -a >fuzz/logs/build.log 2>&1 || { echo "build failed, see fuzz/logs/build.log"; exit 1; }
fi
eval "$(./dev.sh env 2>/dev/null)"
bin=fuzz/target/x86_64-unknown-linux-gnu/release
for t in "${targets[@]}"; do
  dict=(); [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  case "$t" in
    chain_toml) cp -n configs/*.toml "fuzz/corpus/$t/" 2>/dev/null ;;
    bench_suite) cp -n bench/suites/*.toml "fuzz/corpus/$t/" 2>/dev/null ;;
  esac
  [ -f "fuzz/seeds/$t.tar.xz" ] && tar -xJf "fuzz/seeds/$t.tar.xz" -C "fuzz/corpus/$t" --skip-old-files
  echo "== $t $(date -u +%FT%TZ) ${each}s" >>fuzz/logs/summary.txt
  "$bin/$t" -max_total_time="$each" -rss_limit_mb=4096 -timeout=20 -artifact_prefix="fuzz/artifacts/$t/" "${dict[@]}" \
    "fuzz/corpus/$t" >"fuzz/logs/$t.log" 2>&1
  echo "rc=$? $(grep -E '^#[0-9]+' "fuzz/logs/$t.log" | tail -1)" >>fuzz/logs/summary.txt
  grep -E 'Done [0-9]+ runs|SUMMARY|panicked' "fuzz/logs/$t.log" | tail -3 >>fuzz/logs/summary.txt
  if [ -n "${SAVE_SEEDS:-}" ]; then
    minimal="$(mktemp -d)"
    "$bin/$t" -merge=1 -rss_limit_mb=4096 -timeout=20 "$minimal" "fuzz/corpus/$t" >"fuzz/logs/$t.merge.log" 2>&1
    mkdir -p fuzz/seeds
    tar -cJf "fuzz/seeds/$t.tar.xz" -C "$minimal" .
    echo "seeds: $(find "$minimal" -type f | wc -l) inputs, $(du -k "fuzz/seeds/$t.tar.xz" | cut -f1) KiB packed" >>fuzz/logs/summary.txt
    rm -rf "$minimal"
  fi
done
