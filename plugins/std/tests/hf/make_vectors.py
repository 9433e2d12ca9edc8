"""Writes vectors.json: Hugging Face transformers' own logits processors run
on random rows, for `tests/hf_parity.rs` to compare against.

    .venv/bin/python plugins/std/tests/hf/make_vectors.py

Cases whose decision at the boundary is closer than 1e-4 (in probability or
logit) are skipped: there float32 rounding in torch and f64 accumulation
here may legitimately disagree, and the hand-computed tests pin the rule.
"""

import json
import os

import numpy as np
import torch
import transformers
from transformers.generation.logits_process import (
    MinPLogitsWarper,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

VOCAB = 128
rng = np.random.default_rng(20261128)


def row():
    # A language-model-ish row: a Gaussian body and a few favourites.
    logits = rng.normal(0.0, 2.0, VOCAB)
    logits[rng.choice(VOCAB, 4, replace=False)] += rng.uniform(3.0, 8.0, 4)
    return logits.astype(np.float32)


def history(length, pool):
    return [int(t) for t in rng.integers(0, pool, length)]


def run(processor, logits, ids):
    out = processor(torch.tensor([ids], dtype=torch.long), torch.tensor(logits).unsqueeze(0))
    return out[0].numpy()


def short(x):
    # The shortest decimal that reads back as the same float32.
    return float(str(np.float32(x)))


def kept(out):
    return [int(i) for i in np.nonzero(np.isfinite(out))[0]]


def top_p_margin(logits, p):
    probs = np.sort(np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum())
    return float(np.min(np.abs(np.cumsum(probs) - (1 - p))))


def min_p_margin(logits, p):
    rel = np.exp(logits.astype(np.float64) - logits.max())
    return float(np.min(np.abs(rel - p)))


cases = []
for _ in range(8):
    logits, ids = row(), history(rng.integers(1, 40), 60)
    for name, params, proc, margin in [
        ("top_k", {"k": int(rng.integers(1, 30))}, None, 1.0),
        ("top_p", {"p": float(rng.uniform(0.3, 0.99)), "min_keep": int(rng.integers(1, 4))}, None, None),
        ("min_p", {"p": float(rng.uniform(0.01, 0.5)), "min_keep": int(rng.integers(1, 4))}, None, None),
        ("repetition_penalty", {"penalty": float(rng.uniform(1.05, 2.0))}, None, 1.0),
        ("temperature", {"temperature": float(rng.uniform(0.3, 1.7))}, None, 1.0),
        ("no_repeat_ngram", {"n": int(rng.integers(1, 4))}, None, 1.0),
    ]:
        if name == "top_k":
            proc = TopKLogitsWarper(top_k=params["k"])
        elif name == "top_p":
            proc = TopPLogitsWarper(top_p=params["p"], min_tokens_to_keep=params["min_keep"])
            margin = top_p_margin(logits, params["p"])
        elif name == "min_p":
            proc = MinPLogitsWarper(min_p=params["p"], min_tokens_to_keep=params["min_keep"])
            margin = min_p_margin(logits, params["p"])
        elif name == "repetition_penalty":
            proc = RepetitionPenaltyLogitsProcessor(penalty=params["penalty"])
        elif name == "temperature":
            proc = TemperatureLogitsWarper(temperature=params["temperature"])
        else:
            proc = NoRepeatNGramLogitsProcessor(ngram_size=params["n"])
            # Small pool so n-grams repeat.
            ids = history(rng.integers(5, 40), 6)
        if margin < 1e-4:
            continue
        out = run(proc, logits, ids)
        case = {"processor": name, "params": params, "tokens": ids, "logits": [short(x) for x in logits]}
        if name in ("repetition_penalty", "temperature"):
            case["out"] = [short(x) for x in out]
        else:
            case["kept"] = kept(out)
        cases.append(case)

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "vectors.json"), "w") as f:
    json.dump({"transformers": transformers.__version__, "torch": torch.__version__, "cases": cases}, f)
print(f"wrote {len(cases)} cases")
