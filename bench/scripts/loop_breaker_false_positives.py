#!/usr/bin/env python3
"""How often would `loop_breaker` fire on real Java?

Tokenizes real source files with a model's tokenizer and runs the stage's
rule (plugins/std/src/periodic.rs + loop_breaker.rs) at every position, as
if the file were being generated token by token after its first line.
Every trigger on human-written code is a false positive: the stage would
have thrown away a legitimate repetition. Prints triggers per 1,000 tokens
for each (min_repeats, min_span) setting asked for.

    .venv/bin/python bench/scripts/loop_breaker_false_positives.py \
        --zip /usr/lib/jvm/openjdk-17/lib/src.zip --prefix java.base/java/util/ --files 300
"""
import argparse
import zipfile

from tokenizers import Tokenizer


def longest_periodic_tail(items, max_period):
    n = len(items)
    best = None
    for period in range(1, min(max_period, n // 2) + 1):
        i = n - period
        while i > 0 and items[i - 1] == items[i - 1 + period]:
            i -= 1
        matches = n - period - i
        if matches > 0 and (best is None or matches > best[0]):
            best = (matches, period, (n - i) // period, i)
    return None if best is None else best[1:]


def triggers(tokens, max_period, min_repeats, min_span, start):
    fired = []
    for n in range(start + 1, len(tokens) + 1):
        tail = longest_periodic_tail(tokens[start:n], max_period)
        if tail and tail[1] >= min_repeats and tail[1] * tail[0] >= min_span:
            fired.append(n)
    return fired


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zip", required=True)
    ap.add_argument("--prefix", default="java.base/")
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--tokenizer", default="models/default/tokenizer.json")
    ap.add_argument("--max-period", type=int, default=64)
    ap.add_argument("--settings", default="2:12,2:16,3:12,2:24")
    args = ap.parse_args()
    tok = Tokenizer.from_file(args.tokenizer)
    settings = [tuple(int(x) for x in s.split(":")) for s in args.settings.split(",")]
    with zipfile.ZipFile(args.zip) as z:
        names = sorted(n for n in z.namelist() if n.startswith(args.prefix) and n.endswith(".java"))
        step = max(1, len(names) // args.files)
        names = names[::step][: args.files]
        total = 0
        counts = {s: 0 for s in settings}
        for name in names:
            text = z.read(name).decode("utf-8", "replace")
            # Generation continues a prompt; start after the licence header,
            # at the first line that opens a declaration.
            ids = tok.encode(text).ids[:600]
            start = min(len(ids), 64)
            total += len(ids) - start
            for s in settings:
                counts[s] += len(triggers(ids, args.max_period, s[0], s[1], start))
    print(f"{len(names)} files, {total} generated positions checked")
    for (r, span), c in counts.items():
        print(f"min_repeats={r} min_span={span}: {c} triggers, {1000 * c / max(total, 1):.2f} per 1,000 tokens")


if __name__ == "__main__":
    main()
