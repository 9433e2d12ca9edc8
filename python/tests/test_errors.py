"""Errors become Python exceptions naming file, line, stage, plugin and
step; the plugin host's bad-plugin suite, run through Python."""

import numpy as np
import pytest

import logitloom
from conftest import ROOT, TOKENIZER, native_plugin, wasm_plugin

VOCAB, EOS = 64, 63


def rows(step: int, batch: int = 1) -> np.ndarray:
    """The Rust suite's fixed, varied logits row (plugin-host/tests/common)."""
    row = np.array([((i * 7 + step * 3) % 13) * 0.25 - 1.0 for i in range(VOCAB)], np.float32)
    return np.tile(row, (batch, 1))


def chain_text(plugin, misbehaving, extra=""):
    return (
        f'[[stage]]\npath = "{plugin}"\nprocessor = "{misbehaving}"\nat_step = 2\n{extra}\n'
        f'[[stage]]\npath = "{plugin}"\nprocessor = "argmax"\n'
    )


def failure_of(plugin, misbehaving, **options):
    chain = logitloom.Chain.from_toml(chain_text(plugin, misbehaving), eos_token_id=EOS, **options)
    state = chain.new_sequences([[1, 2, 3]])
    with pytest.raises(logitloom.PluginError) as info:
        for step in range(4):
            state.step(rows(step))
    err = info.value
    assert (err.sequence, err.stage, err.plugin, err.step) == (0, 1, misbehaving, 2), str(err)
    assert f"stage 1 `{misbehaving}`" in str(err) and "at step 2" in str(err)
    assert str(plugin) in err.source
    # The process is fine and the same plugin still runs a healthy chain.
    healthy = logitloom.Chain.from_toml(
        f'[[stage]]\npath = "{plugin}"\nprocessor = "bias"\ntoken = 5\namount = 10.0\n'
        f'[[stage]]\npath = "{plugin}"\nprocessor = "argmax"\n',
        eos_token_id=EOS,
    ).new_sequences([[1, 2, 3]])
    assert [healthy.step(rows(s))[0] for s in range(2)] == [5, 5]
    return err


@pytest.fixture(params=["native", "wasm"])
def test_plugin(request):
    if request.param == "native":
        return native_plugin("logitloom-test-plugins")
    return wasm_plugin("logitloom-test-plugins")


def test_plugin_errors_name_plugin_and_step(test_plugin):
    err = failure_of(test_plugin, "fail_at")
    assert err.failure == "error" and "deliberate test error" in str(err)


def test_panics_become_exceptions(test_plugin):
    err = failure_of(test_plugin, "panic_at")
    assert err.failure == ("panic" if test_plugin.suffix == ".so" else "trap")
    assert "deliberate test panic" in str(err)


def test_nan_logits_are_caught(test_plugin):
    err = failure_of(test_plugin, "write_nan")
    assert err.failure == "invalid_logits" and "NaN" in str(err)


def test_masking_every_token_is_caught(test_plugin):
    assert failure_of(test_plugin, "mask_all").failure == "invalid_logits"


def test_endless_wasm_loop_hits_the_deadline():
    err = failure_of(wasm_plugin("logitloom-test-plugins"), "spin_forever", wasm_deadline_ms=50)
    assert err.failure == "timeout"


def test_unbounded_wasm_allocation_hits_the_memory_limit():
    err = failure_of(wasm_plugin("logitloom-test-plugins"), "allocate_forever", wasm_memory_limit_bytes=32 << 20)
    assert err.failure == "memory_limit"


def test_handwritten_trap():
    wat = ROOT / "plugins" / "testing" / "wat" / "trap.wat"
    lib = native_plugin("logitloom-test-plugins")
    chain = logitloom.Chain.from_toml(
        f'[[stage]]\npath = "{wat}"\nprocessor = "trap"\n\n[[stage]]\npath = "{lib}"\nprocessor = "argmax"\n',
        eos_token_id=EOS,
    )
    with pytest.raises(logitloom.PluginError) as info:
        chain.new_sequences([[1]]).step(rows(0))
    assert (info.value.stage, info.value.step, info.value.failure) == (1, 0, "trap")


def test_a_failed_sequence_refuses_further_steps_but_the_batch_goes_on():
    lib = native_plugin("logitloom-test-plugins")
    chain = logitloom.Chain.from_toml(chain_text(lib, "fail_at"), eos_token_id=EOS)
    state = chain.new_sequences([[1, 2, 3]] * 2)
    state.step(rows(0, 2))
    state.step(rows(1, 2))
    with pytest.raises(logitloom.PluginError):
        state.step(rows(2, 2))
    # Every sequence took step 2 before the error was raised.
    assert [len(t) for t in state.tokens] == [2, 2]
    with pytest.raises(logitloom.PluginError) as info:
        state.step(rows(3, 2))
    assert info.value.failure == "poisoned" and info.value.sequence == 0


def test_other_interface_versions_are_refused():
    plugins = {
        native_plugin("logitloom-test-old-interface"): "0.9",
        ROOT / "plugins" / "testing" / "wat" / "other_version.wat": "2.0",
    }
    for path, version in plugins.items():
        with pytest.raises(logitloom.ChainConfigError) as info:
            logitloom.Chain.from_toml(f'[[stage]]\npath = "{path}"\n\n[[stage]]\nplugin = "greedy"\n')
        assert f"built against plugin interface {version}, this host supports" in str(info.value)


def test_toml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[stage]]\nplugin = "top_k"\nk = 40\n\n[[stage]]\nplugin = \n')
    with pytest.raises(logitloom.ChainConfigError) as info:
        logitloom.Chain.from_toml(path)
    assert info.value.origin == str(path) and info.value.line == 6, str(info.value)
    assert str(info.value).startswith(f"{path}:6:")


def test_bad_parameter_names_stage_and_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[stage]]\nplugin = "top_k"\nk = -3\n\n[[stage]]\nplugin = "greedy"\n')
    with pytest.raises(logitloom.ChainConfigError) as info:
        logitloom.Chain.from_toml(path)
    err = info.value
    assert (err.stage, err.plugin, err.line) == (1, "top_k", 3), str(err)
    assert "k" in str(err)


def test_unknown_plugin_and_missing_sampler():
    with pytest.raises(logitloom.ChainConfigError, match="unknown plugin `top_q`"):
        logitloom.Chain.from_toml('[[stage]]\nplugin = "top_q"\n')
    with pytest.raises(logitloom.ChainConfigError, match="must end with exactly one sampler"):
        logitloom.Chain.from_toml('[[stage]]\nplugin = "top_k"\nk = 3\n')
    with pytest.raises(logitloom.ChainConfigError, match="cannot read chain config"):
        logitloom.Chain.from_toml(ROOT / "configs" / "no-such.toml")


def test_stages_needing_token_bytes_ask_for_a_tokenizer():
    with pytest.raises(logitloom.ChainConfigError, match="pass tokenizer="):
        logitloom.Chain.from_toml(ROOT / "configs" / "baseline-entropy.toml")


def test_bad_tokenizers_and_logits():
    with pytest.raises(TypeError, match="tokenizer must be"):
        logitloom.Chain.from_toml(ROOT / "configs" / "greedy.toml", tokenizer=42)
    with pytest.raises(ValueError, match="cannot read tokenizer"):
        logitloom.Chain.from_toml(ROOT / "configs" / "greedy.toml", tokenizer="/nonexistent/tokenizer.json")
    chain = logitloom.Chain.from_toml(ROOT / "configs" / "greedy.toml", tokenizer=TOKENIZER)
    state = chain.new_sequences([[1, 2]] * 2)
    with pytest.raises(ValueError, match=r"2-D \[batch, vocab\]"):
        state.step(np.zeros(8192, np.float32))
    with pytest.raises(ValueError, match="3 rows, this batch has 2"):
        state.step(np.zeros((3, 8192), np.float32))
    ok = np.zeros((2, 8192), np.float32)
    ok[:, 5] = 1.0  # not the end of text (id 0), so both sequences go on
    assert state.step(ok) == [5, 5]
    with pytest.raises(ValueError, match="set up for a vocabulary of 8192"):
        state.step(np.zeros((2, 100), np.float32))
    bad = ok.copy()
    bad[1, 7] = np.nan
    with pytest.raises(ValueError, match="sequence 1: the model's logits at step 1"):
        state.step(bad)
    with pytest.raises(ValueError, match="no end-of-text token id"):
        logitloom.Chain.from_toml(ROOT / "configs" / "greedy.toml").new_sequences([[1]])
