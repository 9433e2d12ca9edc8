#!/usr/bin/env python3
"""Throughput and load checks for `logitloom serve` (docs/serve.md).

    bench/scripts/serve_load.py throughput [--binary target/release/logitloom] [--clients 1,8,32]
    bench/scripts/serve_load.py load [--clients 64] [--seconds 120]

`throughput` starts the server, then for each client count runs that many
closed-loop clients (each sends its next request when the last one
returned) for a fixed number of requests, and prints a Markdown table of
requests/s and tokens/s; 1 client is the sequential baseline.

`load` runs 64 concurrent clients for at most `--seconds`: every response
must be complete (exactly max_tokens tokens, finish_reason "length") and
equal to the same request's text from a single-request run, and the
server's resident memory is sampled before, during and after to check that
it stays flat. Exits non-zero on any mismatch.

Only the standard library is used: the script needs no virtual env.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = [
    "public class Stack<T> {",
    "import java.util.*;\n\nclass Graph {",
    "// Returns the n-th Fibonacci number\npublic static long fib(int n) {",
    "for (int i = 0; i < items.size(); i++) {",
    "private final Map<String, Integer> counts = new HashMap<>();",
    "public boolean equals(Object other) {",
    "try (BufferedReader reader = Files.newBufferedReader(path)) {",
    "interface Shape { double area(); }",
]


def start_server(binary: Path, *flags: str):
    """Starts `binary serve` on a free loopback port with the shipped presets
    and `flags`; returns (process, base URL). Raises RuntimeError if no
    address line comes. Also used by python/tests/test_serve_openai.py."""
    cmd = [str(binary), "serve", "--port", "0", "--chains", str(ROOT / "configs"), *flags]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    # Notes (e.g. the device chosen) may come before the address line.
    for line in proc.stderr:
        found = re.search(r"http://(127\.0\.0\.1:\d+)", line)
        if found:
            break
    else:
        line, found = "(stderr closed)", None
    if not found:
        proc.kill()
        raise RuntimeError(f"the server did not start: {line!r}")
    # Keep draining stderr so the server never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    return proc, f"http://{found.group(1)}"


def server_flags(max_batch: int, threads: int | None) -> list[str]:
    return ["--max-batch", str(max_batch)] + (["--threads", str(threads)] if threads else [])


def complete(base: str, body: dict) -> dict:
    req = urllib.request.Request(f"{base}/v1/completions", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.load(r)


def body_for(i: int, max_tokens: int) -> dict:
    body = {"prompt": PROMPTS[i % len(PROMPTS)], "max_tokens": max_tokens, "seed": 1000 + i, "logit_bias": {"0": -100}}
    # A mix of chains: field-built, a preset, an inline chain.
    if i % 3 == 0:
        body.update(temperature=0.8, top_p=0.95)
    elif i % 3 == 1:
        body["chain"] = "top_k40"
    else:
        body["chain"] = {"stage": [{"plugin": "min_p", "p": 0.05}, {"plugin": "multinomial"}]}
    return body


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def throughput(args):
    proc, base = start_server(args.binary, *server_flags(max(args.clients), args.threads))
    try:
        complete(base, body_for(0, 4))  # warm-up: first allocations, chain cache
        print(f"| clients | requests | max_tokens | wall s | requests/s | tokens/s | vs 1 client |")
        print(f"|---:|---:|---:|---:|---:|---:|---:|")
        baseline = None
        for clients in args.clients:
            n = max(args.requests, clients * args.rounds)
            start = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                results = list(pool.map(lambda i: complete(base, body_for(i, args.max_tokens)), range(n)))
            wall = time.perf_counter() - start
            tokens = sum(r["usage"]["completion_tokens"] for r in results)
            tps = tokens / wall
            baseline = baseline or tps
            print(f"| {clients} | {n} | {args.max_tokens} | {wall:.2f} | {n / wall:.2f} | {tps:.0f} | {tps / baseline:.2f}x |", flush=True)
    finally:
        proc.terminate()
        proc.wait()


def load(args):
    proc, base = start_server(args.binary, *server_flags(args.max_batch, args.threads))
    failures = []
    try:
        n = args.clients
        bodies = [body_for(i, args.max_tokens) for i in range(n)]
        rss_start = rss_kib(proc.pid)
        # Single-request runs: one at a time, so each is alone in the batch.
        t0 = time.perf_counter()
        alone = [complete(base, b)["choices"][0]["text"] for b in bodies]
        single_s = time.perf_counter() - t0
        rss_samples = [rss_kib(proc.pid)]
        deadline = time.perf_counter() + args.seconds
        rounds = 0
        t0 = time.perf_counter()
        while time.perf_counter() < deadline and rounds < args.rounds:
            with ThreadPoolExecutor(n) as pool:
                results = list(pool.map(lambda b: complete(base, b), bodies))
            rounds += 1
            rss_samples.append(rss_kib(proc.pid))
            for i, r in enumerate(results):
                choice = r["choices"][0]
                if choice["finish_reason"] != "length" or r["usage"]["completion_tokens"] != args.max_tokens:
                    failures.append(f"round {rounds} request {i}: incomplete ({choice['finish_reason']}, {r['usage']['completion_tokens']} tokens)")
                if choice["text"] != alone[i]:
                    failures.append(f"round {rounds} request {i}: text differs from its single-request run")
        concurrent_s = time.perf_counter() - t0
        rss_end = rss_kib(proc.pid)
        print(f"clients {n}, max_tokens {args.max_tokens}, rounds {rounds}, responses {rounds * n}")
        print(f"single-request runs: {single_s:.1f} s for {n}; concurrent rounds: {concurrent_s:.1f} s")
        print(f"RSS MiB: start {rss_start / 1024:.0f}, after single runs {rss_samples[0] / 1024:.0f}, after each round "
              f"{', '.join(f'{s / 1024:.0f}' for s in rss_samples[1:])}, end {rss_end / 1024:.0f}")
        print(f"mismatches or incomplete responses: {len(failures)}")
        growth = (rss_samples[-1] - rss_samples[1]) / 1024 if len(rss_samples) > 2 else 0.0
        print(f"RSS growth from round 1 to round {rounds}: {growth:+.1f} MiB")
        # The first rounds warm the allocator up (each interleaving of 64
        # requests touches buffers the last did not), and single samples
        # swing by tens of MiB as batches come and go; a leak is growth that
        # goes on. So with enough rounds the check is the least-squares
        # trend over the second half, times that half's length.
        if rounds >= 6:
            half = rss_samples[1 + rounds // 2:]
            xm, ym = (len(half) - 1) / 2, sum(half) / len(half)
            slope = sum((i - xm) * (y - ym) for i, y in enumerate(half)) / sum((i - xm) ** 2 for i in range(len(half)))
            growth = slope * len(half) / 1024
            print(f"RSS over the last {len(half)} rounds: {min(half) / 1024:.0f}-{max(half) / 1024:.0f} MiB, "
                  f"trend {growth:+.1f} MiB (the leak check)")
        if growth > args.max_growth_mib:
            failures.append(f"memory grew {growth:.1f} MiB over the rounds (allowed {args.max_growth_mib})")
    finally:
        proc.terminate()
        proc.wait()
    for f in failures[:20]:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["throughput", "load"])
    p.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "logitloom")
    p.add_argument("--clients", default=None, help="comma-separated client counts (throughput) or one count (load)")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--requests", type=int, default=32, help="throughput: least requests per client count")
    p.add_argument("--rounds", type=int, default=2, help="throughput: requests per client at least; load: most rounds")
    p.add_argument("--seconds", type=float, default=120, help="load: stop starting rounds after this long")
    p.add_argument("--max-batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=None, help="the server's --threads")
    p.add_argument("--max-growth-mib", type=float, default=32)
    args = p.parse_args()
    if not args.binary.is_file():
        sys.exit(f"no {args.binary}: build it with `./dev.sh cargo build --release -p logitloom-cli`")
    if args.mode == "throughput":
        args.clients = [int(c) for c in (args.clients or "1,8,32").split(",")]
        throughput(args)
    else:
        args.clients = int(args.clients or 64)
        args.rounds = args.rounds if args.rounds != 2 else 5
        load(args)


if __name__ == "__main__":
    main()
