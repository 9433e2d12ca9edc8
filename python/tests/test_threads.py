"""The GIL is released while chains run, and sequences in different
threads do not disturb each other."""

import threading
import time

import numpy as np

import logitloom
from conftest import ROOT, TOKENIZER, wasm_plugin
from test_errors import EOS, rows


def test_other_python_threads_run_during_a_step():
    # A WASM stage that spins until its deadline keeps the step busy for
    # 300 ms; with the GIL held, the counting thread could not run at all.
    plugin = wasm_plugin("logitloom-test-plugins")
    chain = logitloom.Chain.from_toml(
        f'[[stage]]\npath = "{plugin}"\nprocessor = "spin_forever"\nat_step = 0\n\n'
        f'[[stage]]\npath = "{plugin}"\nprocessor = "argmax"\n',
        eos_token_id=EOS,
        wasm_deadline_ms=300,
    )
    state = chain.new_sequences([[1, 2, 3]])
    counts = []
    stop = threading.Event()

    def count():
        n = 0
        while not stop.is_set():
            n += 1
        counts.append(n)

    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.01)
    started = time.perf_counter()
    try:
        state.step(rows(0))
    except logitloom.PluginError as e:
        assert e.failure == "timeout"
    else:
        raise AssertionError("spin_forever must hit its deadline")
    spent = time.perf_counter() - started
    stop.set()
    counter.join()
    assert spent >= 0.25
    # Python counts well over a million per second; a held GIL would allow
    # at most a few switch intervals' worth (5 ms each) before and after.
    assert counts[0] > 100_000, counts


def test_threads_with_their_own_sequences_match_one_thread():
    chain = logitloom.Chain.from_toml(ROOT / "configs" / "conservative-entropy.toml", tokenizer=TOKENIZER)
    rng = np.random.default_rng(4)
    logits = (rng.standard_normal((30, 2, 8192)) * 3).astype(np.float32)

    def run(seed):
        state = chain.new_sequences([[5, 6, 7]] * 2, seed=seed, stop_at_eos=False)
        for t in range(30):
            state.step(logits[t])
        return state.tokens, state.take_observations()

    expected = [run(seed) for seed in range(6)]
    results = [None] * 6

    def worker(seed):
        results[seed] = run(seed)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected
    assert expected[0] != expected[1]  # different seeds, different samples


def test_one_sequences_object_in_two_threads_is_refused_not_raced():
    plugin = wasm_plugin("logitloom-test-plugins")
    chain = logitloom.Chain.from_toml(
        f'[[stage]]\npath = "{plugin}"\nprocessor = "spin_forever"\nat_step = 0\n\n'
        f'[[stage]]\npath = "{plugin}"\nprocessor = "argmax"\n',
        eos_token_id=EOS,
        wasm_deadline_ms=300,
    )
    state = chain.new_sequences([[1]])
    errors = []

    def first():
        try:
            state.step(rows(0))
        except logitloom.PluginError as e:
            errors.append(e)

    t = threading.Thread(target=first)
    t.start()
    time.sleep(0.1)
    try:
        state.step(rows(0))
    except RuntimeError as e:
        errors.append(e)
    t.join()
    kinds = sorted(type(e).__name__ for e in errors)
    assert kinds == ["PluginError", "RuntimeError"], errors
