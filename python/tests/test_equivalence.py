"""Same logits in, same tokens and traces out: the Python package against
the Rust host (`logitloom-replay`, which drives the chain exactly as the
engine's generation loop does), for every preset in configs/, the standard
stages as a native and as a WASM plugin, and the Java grammar."""

from pathlib import Path

import numpy as np
import pytest

import logitloom
from conftest import CONFIGS, ROOT, TOKENIZER, native_plugin, python_replay, require_module, rust_replay, wasm_plugin

STEPS, BATCH = 40, 3


def logits_for(vocab: int, seed: int, eos: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((STEPS, BATCH, vocab)) * 2.5).astype(np.float32)
    # Sequence 1 meets a strong end-of-text at step 12, so finishing is compared too.
    logits[12, 1, eos] = 40.0
    return logits


def prompt_ids(tokenizer, text="public class Stack {\n    private int[] items;\n"):
    return tokenizer.encode(text, add_special_tokens=False).ids


def check_same(chain_path: Path, tokenizer, tmp_path, seed=5):
    chain = logitloom.Chain.from_toml(chain_path, tokenizer=TOKENIZER)
    vocab = tokenizer.get_vocab_size(True)
    logits = logits_for(vocab, seed, chain.eos_token_id)
    prompt = prompt_ids(tokenizer)
    want_tokens, want_trace = rust_replay(chain_path, logits, prompt, tmp_path, seed=seed)
    got_tokens, got_trace = python_replay(chain, logits, prompt, seed=seed)
    assert got_tokens == want_tokens
    assert got_trace == want_trace
    # The test means something only if the sequences ran and one finished
    # early; a grammar allows end-of-text only where the Java is complete,
    # which random logits never reach.
    assert len(got_tokens[0]) > 12
    if "java_" not in chain_path.read_text():
        assert got_tokens[1][-1] == chain.eos_token_id
    return got_tokens, got_trace


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_preset_matches_the_rust_host(config, tokenizer, tmp_path):
    tokens, trace = check_same(config, tokenizer, tmp_path)
    if "entropy_logger" in config.read_text():
        assert len([o for o in trace if o["stage"] == "entropy_logger"]) == sum(len(t) for t in tokens)


def _plugin_chain(tmp_path: Path, plugin: Path) -> Path:
    stages = [
        ("repetition_penalty", "penalty = 1.15"),
        ("top_k", "k = 40"),
        ("top_p", "p = 0.95"),
        ("entropy_logger", "top_n = 3"),
        ("multinomial", ""),
    ]
    text = "".join(f'[[stage]]\npath = "{plugin}"\nprocessor = "{name}"\n{extra}\n\n' for name, extra in stages)
    path = tmp_path / "chain.toml"
    path.write_text(text)
    return path


def test_native_plugin_matches_the_rust_host(tokenizer, tmp_path):
    check_same(_plugin_chain(tmp_path, native_plugin("logitloom-std-module")), tokenizer, tmp_path)


def test_wasm_plugin_matches_the_rust_host(tokenizer, tmp_path):
    tokens, trace = check_same(_plugin_chain(tmp_path, wasm_plugin("logitloom-std-module")), tokenizer, tmp_path)
    assert trace and {o["stage"] for o in trace} == {"entropy_logger"}


def test_native_and_wasm_and_builtin_agree(tokenizer, tmp_path):
    """The three kinds of the same stages pick the same tokens (the std plugins are bit-identical by design)."""
    vocab = tokenizer.get_vocab_size(True)
    prompt = prompt_ids(tokenizer)
    results = []
    for plugin in (native_plugin("logitloom-std-module"), wasm_plugin("logitloom-std-module")):
        chain = logitloom.Chain.from_toml(_plugin_chain(tmp_path, plugin), tokenizer=TOKENIZER)
        results.append(python_replay(chain, logits_for(vocab, 9, chain.eos_token_id), prompt, seed=9))
    builtin = logitloom.Chain.from_toml(ROOT / "configs" / "conservative-entropy.toml", tokenizer=TOKENIZER)
    b_tokens, _ = python_replay(builtin, logits_for(vocab, 9, builtin.eos_token_id), prompt, seed=9)
    assert results[0] == results[1]
    assert results[0][0] == b_tokens


def test_java_grammar_matches_the_rust_host(tokenizer, tmp_path):
    path = tmp_path / "grammar.toml"
    path.write_text(
        '[[stage]]\nplugin = "java_grammar"\nstart = "file"\n\n'
        '[[stage]]\nplugin = "entropy_logger"\n\n'
        '[[stage]]\nplugin = "temperature"\ntemperature = 0.8\n\n'
        '[[stage]]\nplugin = "top_k"\nk = 200\n\n'
        '[[stage]]\nplugin = "multinomial"\n'
    )
    chain = logitloom.Chain.from_toml(path, tokenizer=TOKENIZER)
    vocab = tokenizer.get_vocab_size(True)
    logits = logits_for(vocab, 3, chain.eos_token_id)
    logits[12, 1, chain.eos_token_id] = 0.0  # the grammar decides when a file may end
    prompt = prompt_ids(tokenizer, "import java.util.*;\n\npublic class Queue {\n")
    want = rust_replay(path, logits, prompt, tmp_path, seed=3)
    got = python_replay(chain, logits, prompt, seed=3)
    assert got == tuple(want)
    assert len(got[0][0]) == STEPS


def test_logits_are_read_the_same_from_every_layout(tokenizer):
    """numpy rows in place, a row-strided view, float64 (converted), torch CPU: same tokens."""
    torch = require_module("torch")
    chain = logitloom.Chain.from_toml(ROOT / "configs" / "conservative.toml", tokenizer=TOKENIZER)
    vocab = tokenizer.get_vocab_size(True)
    logits = logits_for(vocab, 11, chain.eos_token_id)
    prompt = prompt_ids(tokenizer)
    reference, _ = python_replay(chain, logits, prompt, seed=1, stop_at_eos=False)
    wide = np.zeros((STEPS, BATCH, vocab + 7), np.float32)
    wide[:, :, :vocab] = logits
    layouts = {
        "strided": lambda t: wide[t, :, :vocab],
        "float64": lambda t: logits[t].astype(np.float64),
        "torch": lambda t: torch.from_numpy(logits[t]),
        "torch strided": lambda t: torch.from_numpy(wide[t])[:, :vocab],
    }
    for name, layout in layouts.items():
        state = chain.new_sequences([prompt] * BATCH, seed=1, stop_at_eos=False)
        for t in range(STEPS):
            before = np.array(logits[t])
            state.step(layout(t))
            assert np.array_equal(logits[t], before), "the caller's logits must not change"
        assert state.tokens == reference, name


def test_inplace_steps_edit_the_callers_rows_and_pick_the_same_tokens(tokenizer):
    torch = require_module("torch")
    chain = logitloom.Chain.from_toml(ROOT / "configs" / "conservative.toml", tokenizer=TOKENIZER)
    vocab = tokenizer.get_vocab_size(True)
    logits = logits_for(vocab, 12, chain.eos_token_id)
    prompt = prompt_ids(tokenizer)
    reference, _ = python_replay(chain, logits, prompt, seed=2, stop_at_eos=False)
    for wrap in (lambda a: a, torch.from_numpy):
        state = chain.new_sequences([prompt] * BATCH, seed=2, stop_at_eos=False)
        for t in range(STEPS):
            rows = logits[t].copy()
            state.step(wrap(rows), inplace=True)
            # top-k 40 left at most 40 tokens per row finite.
            assert (np.isfinite(rows).sum(axis=1) <= 40).all()
        assert state.tokens == reference
    frozen = logits[0].copy()
    frozen.setflags(write=False)
    state = chain.new_sequences([prompt] * BATCH, seed=2)
    with pytest.raises(ValueError, match="inplace=True needs writable float32"):
        state.step(frozen, inplace=True)
    with pytest.raises(ValueError, match="inplace=True needs writable float32"):
        state.step(logits[0].astype(np.float64), inplace=True)
    state.step(frozen)  # reading a read-only array is fine
