#!/usr/bin/env bash
# logitloom's one entry point for people and CI.
#
#   ./dev.sh demo     set up whatever is missing, then generate Java with the default model
#   ./dev.sh test     set up whatever is missing, check formatting and clippy, build everything, run every test
#   ./dev.sh setup    only the set-up (idempotent, seconds when done)
#   ./dev.sh cargo …  cargo with the project's libtorch environment
#   ./dev.sh env      print the environment as shell exports (eval "$(./dev.sh env)")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
TORCH_VERSION="2.11.0"
# transformers is only for the parity golden files and side-by-side benchmarks.
TRANSFORMERS_VERSION="5.24.0"
# The official client, only for the `logitloom serve` compatibility tests.
OPENAI_VERSION="3.51.0"

say() { printf '\033[1m[dev]\033[0m %s\n' "$*" >&2; }

setup_python() {
  setup_torch
  "$VENV/bin/python" -c "import openai; assert openai.__version__ == '$OPENAI_VERSION'" 2>/dev/null ||
    "$VENV/bin/pip" install -q --disable-pip-version-check "openai==$OPENAI_VERSION"
}

setup_torch() {
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - <<PY 2>/dev/null
import torch, transformers, numpy
assert torch.__version__.split("+")[0] == "$TORCH_VERSION", torch.__version__
PY
  then return; fi
  say "creating $VENV with torch==$TORCH_VERSION (about a minute, 4.6 GB)"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "torch==$TORCH_VERSION" "transformers==$TRANSFORMERS_VERSION" numpy
}

setup_rust() {
  if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown >&2
  fi
  local installed
  installed="$(rustup component list --installed 2>/dev/null)"
  for component in clippy rustfmt; do
    if ! grep -q "^$component" <<<"$installed"; then
      say "adding the $component component"
      rustup component add "$component" >&2
    fi
  done
}

export_env() {
  export VIRTUAL_ENV="$VENV"
  export PATH="$VENV/bin:$PATH"
  export LIBTORCH_USE_PYTORCH=1
  local torch_lib
  torch_lib="$("$VENV/bin/python" -c 'import torch, os; print(os.path.dirname(torch.__file__))')/lib"
  export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

setup() { setup_python; setup_rust; export_env; }

# WASM builds of the plugin modules; the native ones come with the workspace build.
build_wasm_plugins() {
  cargo build --release --target wasm32-unknown-unknown $(wasm_packages) >&2
}
wasm_packages() {
  local p
  for p in logitloom-std-module logitloom-java-grammar-module logitloom-test-plugins logitloom-plugin-template; do
    if cargo metadata --no-deps --format-version 1 2>/dev/null | grep -q "\"name\":\"$p\""; then printf -- '-p %s ' "$p"; fi
  done
}

# The Python package (python/): built into .venv by maturin, then its pytest
# suite, which uses the plugins and binaries the workspace build just made.
test_python() {
  "$VENV/bin/python" -c 'import maturin, pytest' 2>/dev/null ||
    "$VENV/bin/pip" install -q --disable-pip-version-check maturin pytest
  "$VENV/bin/maturin" develop -q -m "$ROOT/python/Cargo.toml" >&2
  "$VENV/bin/python" -m pytest -q "$ROOT/python/tests"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  setup) setup ;;
  env) setup >&2; printf 'export VIRTUAL_ENV=%q PATH=%q LIBTORCH_USE_PYTORCH=1 LD_LIBRARY_PATH=%q\n' "$VIRTUAL_ENV" "$PATH" "$LD_LIBRARY_PATH" ;;
  cargo) export_env; exec cargo "$@" ;;
  demo)
    setup
    # The dev profile shares its build with `./dev.sh test`; the compute is
    # libtorch's optimised kernels either way (see Cargo.toml's profiles).
    cargo build -p logitloom-cli >&2
    # Extra arguments go to `generate`; without any, use the conservative chain.
    [ $# -gt 0 ] || set -- --chain "$ROOT/configs/conservative.toml"
    exec "$ROOT/target/debug/logitloom" generate --prompt-file "$ROOT/bench/prompts/bst.java" --echo-prompt "$@"
    ;;
  test)
    setup
    # The house style first: it fails in seconds, the build takes minutes.
    cargo fmt --all --check >&2
    build_wasm_plugins
    cargo build --workspace --all-targets >&2
    cargo clippy --workspace --all-targets -q -- -D warnings >&2
    cargo test --workspace "$@"
    test_python
    ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
