"""Per-step cost of logit processing on the CPU at GPT-2's vocabulary
(50,257), batch 1 and 8, in one run: Hugging Face's built-in processors
against the same stages run by logitloom (built-in, native .so, WASM), the
Java grammar through logitloom against llguidance's own torch/HF
integration, and the bridge crossing (array in, tokens out).

    .venv/bin/python python/bench/step_cost.py [--steps 300] [--profile release]

Run from the repository root with the package built in release mode into
the venv (`maturin develop --release -m python/Cargo.toml`, or a wheel from
`pip install ./python`) and the plugins built in the same profile:

    ./dev.sh cargo build --release -p logitloom-std-module -p logitloom-python-replay
    ./dev.sh cargo build --release --target wasm32-unknown-unknown -p logitloom-std-module

The grammar rows need a 50,257-id Java tokenizer, which
`python/bench/java_tokenizer.py` trains (once; about a minute) and
`pip install llguidance` for llguidance's rows. Prints a markdown table of
medians (microseconds per step). A benchmark, not a test: nothing fails.

What the columns mean:

* "µs / step": the median wall time of one step call (the whole batch).
* "bridge": the median, per step, of the call's wall time minus the time
  the chain's stages took (`Sequences.stage_times`): reading the array,
  copying each row into the chain (not with `inplace=True`), releasing and
  taking the GIL, returning the token list. For the HF processor rows it
  also covers the prefix check of `input_ids` and building the returned
  mask tensor.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

import logitloom

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
VOCAB = 50257
HISTORY = 256
BATCHES = (1, 8)

THREE_STAGES = [("repetition_penalty", "penalty = 1.15"), ("top_k", "k = 40"), ("top_p", "p = 0.95"), ("multinomial", "")]

# A complete, valid Java file: the grammar runs are forced along its tokens.
JAVA = """import java.util.ArrayList;
import java.util.List;

public class Stack<T> {
    private final List<T> items = new ArrayList<>();

    public void push(T item) {
        items.add(item);
    }

    public T pop() {
        if (items.isEmpty()) {
            throw new IllegalStateException("empty stack");
        }
        return items.remove(items.size() - 1);
    }

    public boolean isEmpty() {
        return items.isEmpty();
    }

    public int size() {
        return items.size();
    }
}
"""


def chain_toml(path=None):
    out = []
    for name, extra in THREE_STAGES:
        where = f'path = "{path}"\nprocessor = "{name}"' if path else f'plugin = "{name}"'
        out.append(f"[[stage]]\n{where}\n{extra}\n")
    return "\n".join(out)


def median_us(fn, steps, warmup=20):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t)
    return statistics.median(times) / 1e3


def stage_seconds(state):
    return sum(state.stage_times().values())


def timed_steps(call, state, steps, warmup=20):
    """(median µs per call, median µs per call outside the stages)."""
    for _ in range(warmup):
        call()
    walls, bridges = [], []
    before = stage_seconds(state())
    for _ in range(steps):
        t = time.perf_counter_ns()
        call()
        wall = time.perf_counter_ns() - t
        after = stage_seconds(state())
        walls.append(wall / 1e3)
        bridges.append(wall / 1e3 - (after - before) * 1e6)
        before = after
    return statistics.median(walls), statistics.median(bridges)


def bench_chain(chain, logits_np, prompt, steps, inplace=False):
    batch = logits_np.shape[0]
    state = chain.new_sequences([prompt] * batch, seed=1, stop_at_eos=False)
    work = logits_np.copy()

    def call():
        if inplace:
            # The chain leaves its edits in the rows: give it fresh logits,
            # outside the timed call (a model writes new logits every step).
            return state.step(work, inplace=True)
        return state.step(logits_np)

    if not inplace:
        return timed_steps(call, lambda: state, steps)
    # Refill outside the timing: a model writes new logits every step.
    for _ in range(20):
        np.copyto(work, logits_np)
        call()
    walls, bridges = [], []
    before = stage_seconds(state)
    for _ in range(steps):
        np.copyto(work, logits_np)
        t = time.perf_counter_ns()
        call()
        wall = time.perf_counter_ns() - t
        after = stage_seconds(state)
        walls.append(wall / 1e3)
        bridges.append(wall / 1e3 - (after - before) * 1e6)
        before = after
    return statistics.median(walls), statistics.median(bridges)


def bench_processor(chain, scores, input_ids, steps, inplace=False):
    """The HF adapter as generate calls it: fresh float32 scores each step
    (generate's own copy of the model's logits; refilled outside the timing),
    input_ids growing by the chosen token."""
    processor = chain.logits_processor(seed=1, stop_at_eos=False, inplace=inplace)
    work = scores.clone()
    ids = input_ids
    walls, bridges = [], []
    before = 0.0
    for i in range(steps + 20):
        work.copy_(scores)
        t = time.perf_counter_ns()
        out = processor(ids, work)
        wall = time.perf_counter_ns() - t
        after = stage_seconds(processor.sequences)
        if i == 0:
            before = 0.0
        if i >= 20:
            walls.append(wall / 1e3)
            bridges.append(wall / 1e3 - (after - before) * 1e6)
        before = after
        ids = torch.cat([ids, out.argmax(dim=1, keepdim=True)], dim=1)
    return statistics.median(walls), statistics.median(bridges)


def memcpy_floor(logits_np, steps):
    """What copying the batch's rows once costs here (numpy, one thread)."""
    dst = np.empty_like(logits_np)
    return median_us(lambda: np.copyto(dst, logits_np), steps)


def artifacts(profile):
    so = TARGET / profile / "liblogitloom_std_module.so"
    wasm = TARGET / "wasm32-unknown-unknown" / "release" / "logitloom_std_module.wasm"
    # Only prints the expanded grammar for llguidance: any profile will do.
    replay = next((p for p in (TARGET / q / "logitloom-replay" for q in (profile, "debug", "release")) if p.is_file()),
                  TARGET / profile / "logitloom-replay")
    for path, build in [
        (so, f"./dev.sh cargo build {'--release ' if profile == 'release' else ''}-p logitloom-std-module"),
        (wasm, "./dev.sh cargo build --release --target wasm32-unknown-unknown -p logitloom-std-module"),
    ]:
        if not path.is_file():
            raise SystemExit(f"missing {path}: build it with `{build}`")
    return so, wasm, replay


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--profile", default="release", help="cargo profile of the native plugin and replay helper")
    parser.add_argument("--tokenizer", type=Path, help="a 50,257-id tokenizer.json (default: train one, see java_tokenizer.py)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from transformers import LogitsProcessorList, RepetitionPenaltyLogitsProcessor, TopKLogitsWarper, TopPLogitsWarper

    so, wasm, replay = artifacts(args.profile)
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    chains = {
        "built-in": logitloom.Chain.from_toml(chain_toml(), eos_token_id=0),
        "native .so": logitloom.Chain.from_toml(chain_toml(so), eos_token_id=0),
        "WASM": logitloom.Chain.from_toml(chain_toml(wasm), eos_token_id=0),
        # The host checks the row for NaN/+inf after each processor stage
        # (outside the stages' own time, so inside "bridge"); this row shows
        # what that check costs.
        "built-in, check_logits=False": logitloom.Chain.from_toml(chain_toml(), eos_token_id=0, check_logits=False),
    }
    trivial = logitloom.Chain.from_toml('[[stage]]\nplugin = "greedy"\n', eos_token_id=0, check_logits=False)
    rng = np.random.default_rng(0)
    rows = []
    for batch in BATCHES:
        logits = (rng.standard_normal((batch, VOCAB)) * 3).astype(np.float32)
        scores = torch.from_numpy(logits)
        input_ids = torch.from_numpy(rng.integers(0, VOCAB, (batch, HISTORY)))
        prompt = input_ids[0].tolist()
        hf = LogitsProcessorList([RepetitionPenaltyLogitsProcessor(1.15), TopKLogitsWarper(40), TopPLogitsWarper(0.95)])
        rows.append((batch, "HF processors (3 stages)", median_us(lambda: hf(input_ids, scores), args.steps), None))
        rows.append((
            batch,
            "HF processors + softmax + torch.multinomial",
            median_us(lambda: torch.multinomial(torch.softmax(hf(input_ids, scores), -1), 1), args.steps),
            None,
        ))
        for name, chain in chains.items():
            rows.append((batch, f"logitloom {name}: `step` (numpy in)", *bench_chain(chain, logits, prompt, args.steps)))
        for name, chain in chains.items():
            us, bridge = bench_chain(chain, logits, prompt, args.steps, inplace=True)
            rows.append((batch, f"logitloom {name}: `step(inplace=True)`", us, bridge))
        for inplace in (False, True):
            us, bridge = bench_processor(chains["built-in"], scores, input_ids, args.steps, inplace=inplace)
            what = "`logits_processor(inplace=True)` (mask written into generate's scores)" if inplace else "`logits_processor()` (torch in, new masked scores out)"
            rows.append((batch, f"logitloom built-in: HF {what}", us, bridge))
        # The crossing alone: a one-stage chain whose stage is as cheap as stages get.
        for inplace in (False, True):
            us, bridge = bench_chain(trivial, logits, prompt, args.steps, inplace=inplace)
            rows.append((batch, f"logitloom `greedy` alone, {'inplace' if inplace else 'copy'} (bridge = crossing)", us, bridge))
        for inplace in (False, True):
            us, bridge = bench_processor(trivial, scores, input_ids, args.steps, inplace=inplace)
            rows.append((batch, f"logitloom `greedy` alone, HF `logits_processor({'inplace=True' if inplace else ''})` (bridge = adapter crossing)", us, bridge))
        rows.append((batch, "numpy `copyto` of the batch (one copy of every row: the copy mode's floor)", memcpy_floor(logits, args.steps), None))

    grammar_rows = bench_grammar(args, replay)
    load_after = os.getloadavg()

    print(f"{started}; machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{torch.get_num_threads()} torch thread, python {sys.version.split()[0]}, torch {torch.__version__}, "
          f"numpy {np.__version__}")
    print(f"load average (1, 5, 15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
          f"after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print(f"vocabulary {VOCAB}, history {HISTORY} tokens, median of {args.steps} steps; plugins: {args.profile} "
          f"({so.name}), {wasm.name}\n")
    print("| batch | what | µs / step | bridge µs / step |")
    print("|---:|---|---:|---:|")
    for batch, name, us, bridge in rows + grammar_rows:
        print(f"| {batch} | {name} | {us:.1f} | {'' if bridge is None else f'{bridge:.1f}'} |")


def bench_grammar(args, replay):
    """The Java grammar at a 50,257-id Java tokenizer, every sequence forced
    along the tokens of a valid file: logitloom's `java_grammar` stage
    against llguidance's torch integration on the same expanded grammar."""
    from tokenizers import Tokenizer

    tok_path = args.tokenizer
    if tok_path is None:
        made = subprocess.run([sys.executable, str(Path(__file__).parent / "java_tokenizer.py")],
                              capture_output=True, text=True)
        if made.returncode != 0:
            print(f"note: no grammar rows: java_tokenizer.py failed: {made.stderr.strip()[-500:]}", file=sys.stderr)
            return []
        tok_path = Path(made.stdout.strip().splitlines()[-1])
    tokenizer = Tokenizer.from_file(str(tok_path))
    vocab = tokenizer.get_vocab_size(True)
    ids = tokenizer.encode(JAVA, add_special_tokens=False).ids
    rows = []
    chain = logitloom.Chain.from_toml(
        '[[stage]]\nplugin = "java_grammar"\nstart = "file"\n\n[[stage]]\nplugin = "greedy"\n', tokenizer=tok_path
    )
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal((len(ids), vocab)) * 3).astype(np.float32)
    for t, token in enumerate(ids):
        noise[t, token] = 30.0
    for batch in BATCHES:
        state = chain.new_sequences([[]] * batch, seed=0)
        times, bridges = [], []
        before = 0.0
        for t in range(len(ids)):
            row = np.repeat(noise[t][None, :], batch, axis=0)
            started = time.perf_counter_ns()
            got = state.step(row)
            wall = (time.perf_counter_ns() - started) / 1e3
            after = stage_seconds(state)
            times.append(wall)
            bridges.append(wall - (after - before) * 1e6)
            before = after
            if got != [ids[t]] * batch:
                print(f"note: the grammar chain left the file at token {t} ({got} instead of {ids[t]})", file=sys.stderr)
                break
        rows.append((batch, f"logitloom `java_grammar` + greedy ({len(times)} steps of a Java file)",
                     statistics.median(times), statistics.median(bridges)))

    try:
        import llguidance
        import llguidance.hf
        import llguidance.torch as llt
        from transformers import PreTrainedTokenizerFast
    except ImportError as e:
        print(f"note: no llguidance rows ({e}; `pip install llguidance`)", file=sys.stderr)
        return rows
    if not replay.is_file():
        print(f"note: no llguidance rows: missing {replay} (./dev.sh cargo build -p logitloom-python-replay)", file=sys.stderr)
        return rows
    lark = subprocess.run([str(replay), "--print-java-lark"], capture_output=True, text=True)
    if lark.returncode != 0:
        print(f"note: no llguidance rows ({replay}: {lark.stderr.strip()})", file=sys.stderr)
        return rows
    hf_tok = PreTrainedTokenizerFast(tokenizer_file=str(tok_path), eos_token="<|endoftext|>")
    lltok = llguidance.hf.from_tokenizer(hf_tok)
    grammar = llguidance.LLMatcher.grammar_from_lark(lark.stdout)
    version = getattr(llguidance, "__version__", "")
    for batch in BATCHES:
        matchers = [llguidance.LLMatcher(lltok, grammar) for _ in range(batch)]
        if matchers[0].is_error():
            print(f"note: llguidance refused the grammar: {matchers[0].get_error()}", file=sys.stderr)
            return rows
        bitmask = llt.allocate_token_bitmask(batch, lltok.vocab_size)
        times = []
        for t, token in enumerate(ids):
            scores = torch.from_numpy(np.repeat(noise[t][None, :], batch, axis=0))
            started = time.perf_counter_ns()
            for i, m in enumerate(matchers):
                llt.fill_next_token_bitmask(m, bitmask, i)
            llt.apply_token_bitmask_inplace(scores, bitmask)
            chosen = scores.argmax(dim=1).tolist()
            ok = all(m.consume_token(c) for m, c in zip(matchers, chosen))
            times.append((time.perf_counter_ns() - started) / 1e3)
            if chosen != [token] * batch or not ok:
                print(f"note: llguidance left the file at token {t} ({chosen} instead of {token})", file=sys.stderr)
                break
        rows.append((batch, f"llguidance {version}: fill_next_token_bitmask + apply_token_bitmask_inplace + argmax + "
                            f"consume_token, same grammar ({len(times)} steps)", statistics.median(times), None))
    return rows


if __name__ == "__main__":
    main()
