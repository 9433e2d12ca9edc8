"""Shared by the Python package's tests: where the built artifacts are.

A missing prerequisite (a built plugin or binary, an optional Python
module) goes through :func:`require`: it skips the test on a developer's
machine, with the command that provides it, and fails it under ``CI=true``,
as the Rust tests do, because a skipped test in CI hides that nothing was
checked.
"""

import importlib
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
# `./dev.sh test` builds debug; a release build can be tested with LOGITLOOM_TEST_PROFILE=release.
PROFILE = TARGET / os.environ.get("LOGITLOOM_TEST_PROFILE", "debug")
MODEL = ROOT / "models" / "default"
TOKENIZER = MODEL / "tokenizer.json"
CONFIGS = sorted((ROOT / "configs").glob("*.toml"))


def in_ci() -> bool:
    """Whether this is a CI run (``CI=true``, as GitHub Actions and most CI systems set)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require(ok: bool, what: str, how: str) -> None:
    """Stops the test when a prerequisite is missing: a skip naming ``what``
    and ``how`` to provide it, or a failure under ``CI=true``."""
    if ok:
        return
    message = f"missing {what}: {how}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing prerequisite fails the test)", pytrace=False)
    # Module level too: a test file whose imports are missing is skipped whole.
    pytest.skip(message, allow_module_level=True)


def require_module(name: str, how: str = ""):
    """Imports an optional module, or stops the test as :func:`require` does."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        require(False, f"Python module `{name}` ({e})", how or f".venv/bin/pip install {name}")


def _need(path: Path, build: str) -> Path:
    require(path.is_file(), str(path), f"build it with `{build}` (`./dev.sh test` does this)")
    return path


def native_plugin(package: str) -> Path:
    return _need(PROFILE / f"lib{package.replace('-', '_')}.so", f"./dev.sh cargo build -p {package}")


def wasm_plugin(package: str) -> Path:
    return _need(
        TARGET / "wasm32-unknown-unknown" / "release" / f"{package.replace('-', '_')}.wasm",
        f"./dev.sh cargo build --release --target wasm32-unknown-unknown -p {package}",
    )


def replay_binary() -> Path:
    return _need(PROFILE / "logitloom-replay", "./dev.sh cargo build -p logitloom-python-replay")


def cli_binary() -> Path:
    return _need(PROFILE / "logitloom", "./dev.sh cargo build -p logitloom-cli")


def rust_replay(chain: Path, logits: np.ndarray, prompt, tmp_path: Path, *, seed=0, eos=None, tokenizer=TOKENIZER, ignore_eos=False):
    """Runs `logits` (steps x batch x vocab) through the Rust host; returns (tokens, trace)."""
    steps, batch, vocab = logits.shape
    path = tmp_path / "logits.f32"
    np.ascontiguousarray(logits, dtype="<f4").tofile(path)
    cmd = [
        str(replay_binary()), "--chain", str(chain), "--logits", str(path), "--batch", str(batch),
        "--steps", str(steps), "--vocab", str(vocab), "--prompt", ",".join(map(str, prompt)), "--seed", str(seed),
    ]
    if tokenizer is not None:
        cmd += ["--tokenizer", str(tokenizer)]
    if eos is not None:
        cmd += ["--eos", str(eos)]
    if ignore_eos:
        cmd.append("--ignore-eos")
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    return out["tokens"], out["trace"]


def python_replay(chain, logits: np.ndarray, prompt, *, seed=0, stop_at_eos=True):
    """The same through the Python package: one `step` per row block."""
    steps, batch, _ = logits.shape
    state = chain.new_sequences([list(prompt)] * batch, seed=seed, stop_at_eos=stop_at_eos)
    for t in range(steps):
        if all(state.finished):
            break
        state.step(logits[t])
    return state.tokens, state.take_observations()


@pytest.fixture(scope="session")
def tokenizer():
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(TOKENIZER))
