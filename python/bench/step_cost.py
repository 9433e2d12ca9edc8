"""Per-step cost of logit processing on the CPU: Hugging Face's built-in
processors against the same stages run by logitloom (built-in, native .so,
WASM), the Java grammar, and llguidance's own torch integration.

    .venv/bin/python python/bench/step_cost.py [--steps 300]

Prints a markdown table (median microseconds per step; the bridge column is
the mean time a `Sequences.step` call spends outside the chain's stages:
reading the array, copying each row into the chain, returning the tokens).
Run from the repository root after `./dev.sh test` (or after building the
package and the std-module plugins). A benchmark, not a test: nothing fails.
"""

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import logitloom

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "target"
VOCAB = 50257
HISTORY = 256

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


def bench_chain(chain, logits_np, prompt, steps):
    """(median µs per step, mean µs per step outside the stages)."""
    batch = logits_np.shape[0]
    state = chain.new_sequences([prompt] * batch, seed=1, stop_at_eos=False)
    for _ in range(20):
        state.step(logits_np)
    stage_before = sum(state.stage_times().values())
    times = []
    for _ in range(steps):
        t = time.perf_counter_ns()
        state.step(logits_np)
        times.append(time.perf_counter_ns() - t)
    stage_time = sum(state.stage_times().values()) - stage_before
    bridge = (sum(times) / 1e9 - stage_time) / steps * 1e6
    return statistics.median(times) / 1e3, bridge


def bench_processor(chain, scores, input_ids, steps):
    processor = chain.logits_processor(seed=1, stop_at_eos=False)
    ids = input_ids

    def call():
        nonlocal ids
        out = processor(ids, scores)
        chosen = out.argmax(dim=1, keepdim=True)
        ids = torch.cat([ids, chosen], dim=1)

    return median_us(call, steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from transformers import LogitsProcessorList, RepetitionPenaltyLogitsProcessor, TopKLogitsWarper, TopPLogitsWarper

    so = TARGET / "debug" / "liblogitloom_std_module.so"
    wasm = TARGET / "wasm32-unknown-unknown" / "release" / "logitloom_std_module.wasm"
    chains = {
        "logitloom built-in": logitloom.Chain.from_toml(chain_toml(), eos_token_id=0),
        "logitloom native .so": logitloom.Chain.from_toml(chain_toml(so), eos_token_id=0),
        "logitloom WASM": logitloom.Chain.from_toml(chain_toml(wasm), eos_token_id=0),
    }
    rng = np.random.default_rng(0)
    rows = []
    for batch in (1, 8):
        logits = (rng.standard_normal((batch, VOCAB)) * 3).astype(np.float32)
        scores = torch.from_numpy(logits)
        input_ids = torch.from_numpy(rng.integers(0, VOCAB, (batch, HISTORY)))
        prompt = input_ids[0].tolist()
        hf = LogitsProcessorList(
            [RepetitionPenaltyLogitsProcessor(1.15), TopKLogitsWarper(40), TopPLogitsWarper(0.95)]
        )
        rows.append((batch, "HF processors (3 stages)", median_us(lambda: hf(input_ids, scores), args.steps), None))
        rows.append((
            batch,
            "HF processors + softmax + torch.multinomial",
            median_us(lambda: torch.multinomial(torch.softmax(hf(input_ids, scores), -1), 1), args.steps),
            None,
        ))
        for name, chain in chains.items():
            us, bridge = bench_chain(chain, logits, prompt, args.steps)
            rows.append((batch, f"{name}: `Sequences.step` (numpy in)", us, bridge))
        rows.append((
            batch,
            "logitloom built-in: HF `LogitsProcessor` (torch in, masked scores out)",
            bench_processor(chains["logitloom built-in"], scores, input_ids, args.steps),
            None,
        ))
        # The crossing alone: a one-stage chain whose stage is as cheap as stages get.
        trivial = logitloom.Chain.from_toml('[[stage]]\nplugin = "greedy"\n', eos_token_id=0, check_logits=False)
        us, bridge = bench_chain(trivial, logits, prompt, args.steps)
        rows.append((batch, "logitloom `greedy` alone (argmax; bridge = crossing cost)", us, bridge))

    grammar_rows = bench_grammar(args.steps)

    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread, "
          f"python {sys.version.split()[0]}, torch {torch.__version__}\n")
    print(f"vocabulary {VOCAB}, history {HISTORY} tokens, median of {args.steps} steps\n")
    print("| batch | what | µs / step | bridge µs / step |")
    print("|---:|---|---:|---:|")
    for batch, name, us, bridge in rows + grammar_rows:
        print(f"| {batch} | {name} | {us:.1f} | {'' if bridge is None else f'{bridge:.1f}'} |")


def bench_grammar(steps):
    """Java grammar at the default model's vocabulary (the only tokenizer here),
    forced along the tokens of a valid file: logitloom's `java_grammar` stage
    against llguidance's torch integration on the same expanded grammar."""
    import subprocess

    from tokenizers import Tokenizer

    tok_path = ROOT / "models" / "default" / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(tok_path))
    vocab = tokenizer.get_vocab_size(True)
    ids = tokenizer.encode(JAVA, add_special_tokens=False).ids
    rows = []

    chain = logitloom.Chain.from_toml(
        '[[stage]]\nplugin = "java_grammar"\nstart = "file"\n\n[[stage]]\nplugin = "greedy"\n', tokenizer=tok_path
    )
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal((len(ids), 1, vocab)) * 3).astype(np.float32)
    for t, token in enumerate(ids):
        noise[t, 0, token] = 30.0
    times = []
    state = chain.new_sequences([[]], seed=0)
    for t in range(len(ids)):
        started = time.perf_counter_ns()
        got = state.step(noise[t])[0]
        times.append(time.perf_counter_ns() - started)
        if got != ids[t]:
            print(f"note: the grammar chain left the file at token {t} ({got} instead of {ids[t]})", file=sys.stderr)
            break
    rows.append((1, f"logitloom `java_grammar` + greedy, vocabulary {vocab} ({len(times)} steps)", statistics.median(times) / 1e3, None))

    try:
        import llguidance
        import llguidance.hf
        import llguidance.torch as llt
        from transformers import PreTrainedTokenizerFast
    except ImportError:
        return rows
    lark = subprocess.run([str(TARGET / "debug" / "logitloom-replay"), "--print-java-lark"], capture_output=True, text=True)
    if lark.returncode != 0:
        print(f"note: no llguidance row ({lark.stderr.strip()})", file=sys.stderr)
        return rows
    hf_tok = PreTrainedTokenizerFast(tokenizer_file=str(tok_path), eos_token="<|endoftext|>")
    lltok = llguidance.hf.from_tokenizer(hf_tok)
    matcher = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(lark.stdout))
    if matcher.is_error():
        print(f"note: llguidance refused the grammar: {matcher.get_error()}", file=sys.stderr)
        return rows
    bitmask = llt.allocate_token_bitmask(1, lltok.vocab_size)
    times = []
    for t, token in enumerate(ids):
        scores = torch.from_numpy(noise[t].copy())
        started = time.perf_counter_ns()
        llt.fill_next_token_bitmask(matcher, bitmask, 0)
        llt.apply_token_bitmask_inplace(scores, bitmask)
        chosen = int(scores.argmax())
        ok = matcher.consume_token(chosen)
        times.append(time.perf_counter_ns() - started)
        if chosen != token or not ok:
            print(f"note: llguidance left the file at token {t} ({chosen} instead of {token})", file=sys.stderr)
            break
    rows.append((1, f"llguidance {llguidance.__version__ if hasattr(llguidance, '__version__') else ''} mask + apply + argmax + consume, same grammar ({len(times)} steps)".replace("  ", " "), statistics.median(times) / 1e3, None))
    return rows


if __name__ == "__main__":
    main()
