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


# Every misbehaving processor of plugins/testing, with the failure it must
# raise and the ABIs it runs on (an endless loop or unbounded allocation
# only stops under WASM's deadline and memory limit).
MISBEHAVING = {
    "panic_at": ({"panic", "trap"}, ("native", "wasm")),
    "fail_at": ({"error"}, ("native", "wasm")),
    "write_nan": ({"invalid_logits"}, ("native", "wasm")),
    "mask_all": ({"invalid_logits"}, ("native", "wasm")),
    "spin_forever": ({"timeout"}, ("wasm",)),
    "allocate_forever": ({"memory_limit"}, ("wasm",)),
}
# Well-behaved ones (and the rewinder, whose bad modes are tested below).
BEHAVING = {"bias", "argmax", "rewinder", "accept_counter"}
LIMITS = {"wasm_deadline_ms": 50, "wasm_memory_limit_bytes": 32 << 20}
FIXTURES = ROOT / "plugins" / "testing" / "fixtures" / "interface-1.0"


def test_the_suite_covers_every_processor_of_the_test_plugins():
    for path in (native_plugin("logitloom-test-plugins"), wasm_plugin("logitloom-test-plugins")):
        names = {p["name"] for p in logitloom.plugin_processors(path)}
        assert names == set(MISBEHAVING) | BEHAVING, f"{path}: a test processor the Python suite does not know"


@pytest.mark.parametrize("abi", ["native", "wasm", "native 1.0", "wasm 1.0"])
@pytest.mark.parametrize("misbehaving", sorted(MISBEHAVING))
def test_every_bad_plugin_raises_naming_plugin_and_step(abi, misbehaving):
    failures, abis = MISBEHAVING[misbehaving]
    if abi.split()[0] not in abis:
        pytest.skip(f"{misbehaving} never returns natively; only WASM's limits stop it")
    plugin = {
        "native": lambda: native_plugin("logitloom-test-plugins"),
        "wasm": lambda: wasm_plugin("logitloom-test-plugins"),
        # Released builds of interface 1.0 (before rewinds): still loaded, still contained.
        "native 1.0": lambda: FIXTURES / "liblogitloom_test_plugins.so",
        "wasm 1.0": lambda: FIXTURES / "logitloom_test_plugins.wasm",
    }[abi]()
    err = failure_of(plugin, misbehaving, **LIMITS)
    assert err.failure in failures, str(err)


@pytest.mark.parametrize("mode, why", [
    ("before_prompt", "shorter than the prompt"),
    ("past_end", "past the sequence's current length"),
])
def test_impossible_rewind_requests_are_plugin_errors(test_plugin, mode, why):
    chain = logitloom.Chain.from_toml(
        f'[[stage]]\npath = "{test_plugin}"\nprocessor = "rewinder"\nat_step = 2\nmode = "{mode}"\n\n'
        f'[[stage]]\npath = "{test_plugin}"\nprocessor = "argmax"\n',
        eos_token_id=EOS,
    )
    state = chain.new_sequences([[1, 2, 3]])
    with pytest.raises(logitloom.PluginError) as info:
        for step in range(4):
            state.step(rows(step))
    err = info.value
    assert (err.plugin, err.step, err.stage, err.failure) == ("rewinder", 2, 1, "error") and why in str(err), str(err)


def test_files_that_are_not_plugins_are_refused_naming_them(tmp_path):
    cases = {
        tmp_path / "x.so": "not a loadable native library",
        tmp_path / "x.wasm": "not a valid WASM module",
        ROOT / "plugins" / "testing" / "wat" / "missing_export.wat":
            "missing export `logitloom_process`, needed by processor `incomplete`",
    }
    for path in (tmp_path / "x.so", tmp_path / "x.wasm"):
        path.write_text("just some text\n")
    libm = next((p for p in ("/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6")
                 if __import__("os").path.isfile(p)), None)
    if libm is not None:
        cases[libm] = "not a logitloom plugin (no `logitloom_interface_version` symbol"
    for path, expected in cases.items():
        with pytest.raises(logitloom.ChainConfigError) as info:
            logitloom.Chain.from_toml(f'[[stage]]\npath = "{path}"\nprocessor = "x"\n\n[[stage]]\nplugin = "greedy"\n')
        assert expected in str(info.value) and str(path) in str(info.value), str(info.value)
        with pytest.raises(logitloom.ChainConfigError, match="not|missing"):
            logitloom.plugin_processors(path)


def test_the_interpreter_survives_the_whole_suite_in_one_process():
    """A panic, a trap, a timeout and a memory blow-up in one child
    interpreter, which then runs a healthy chain and exits normally."""
    import subprocess
    import sys

    native, wasm = native_plugin("logitloom-test-plugins"), wasm_plugin("logitloom-test-plugins")
    script = f"""
import numpy as np, logitloom
row = np.linspace(-1, 1, 64, dtype=np.float32)[None, :]
def run(path, name):
    chain = logitloom.Chain.from_toml('[[stage]]\\npath = "' + path + '"\\nprocessor = "' + name + '"\\n\\n[[stage]]\\npath = "' + path + '"\\nprocessor = "argmax"\\n', eos_token_id=63, wasm_deadline_ms=50, wasm_memory_limit_bytes=32 << 20)
    state = chain.new_sequences([[1]])
    try:
        state.step(row)
    except logitloom.PluginError as e:
        return e.failure
failures = [run({str(native)!r}, "panic_at"), run({str(wasm)!r}, "panic_at"), run({str(wasm)!r}, "spin_forever"), run({str(wasm)!r}, "allocate_forever")]
ok = logitloom.Chain.from_toml('[[stage]]\\nplugin = "greedy"\\n', eos_token_id=63).new_sequences([[1]]).step(row)
print(failures, ok)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("]")[0] + "]" == "['panic', 'trap', 'timeout', 'memory_limit']", done.stdout
    assert done.stdout.strip().endswith("[63]")
