#!/usr/bin/env python3
"""Decode speed: logitloom against Hugging Face `transformers`, same weights,
same prompt ids, same token count, in one run.

    ./dev.sh cargo build --release -p logitloom-runtime --example decode_bench
    .venv/bin/python bench/scripts/decode_vs_hf.py [--device cpu|cuda] [--quick]

For each case it builds a randomly initialised GPT-2 (seeded), saves it in
the Hugging Face layout, times `model.generate` (greedy, KV cache, PyTorch
eager) and then our `decode_bench` example on the same directory, and
prints tokens/s for both and the ratio. Tokens/s counts every generated
token of every sequence over the whole call, prefill included, best of N.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXE = os.path.join(REPO, "target", "release", "examples", "decode_bench")

MODELS = {
    "gpt2-124M": dict(n_layer=12, n_head=12, n_embd=768, vocab_size=50257, n_positions=1024),
    "small-4x256": dict(n_layer=4, n_head=4, n_embd=256, vocab_size=50257, n_positions=1024),
    # The same body with this project's own vocabulary (the default model's 8,192 tokens):
    # with GPT-2's 50,257 the output projection alone streams 51 MB per token.
    "small-4x256-v8192": dict(n_layer=4, n_head=4, n_embd=256, vocab_size=8192, n_positions=1024,
                              bos_token_id=8191, eos_token_id=8191),
}


def prompt_ids(batch, prompt_len, vocab):
    return torch.tensor([[(i * 7 + b * 13 + 1) % vocab for i in range(prompt_len)] for b in range(batch)])


def time_hf(model, ids, new_tokens, repeats, device):
    model.generation_config.pad_token_id = 0
    best = float("inf")
    for r in range(repeats + 1):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                                 min_new_tokens=new_tokens, do_sample=False, use_cache=True)
        if device == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t
        assert out.shape[1] == ids.shape[1] + new_tokens
        if r > 0:
            best = min(best, dt)
    return ids.shape[0] * new_tokens / best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="fewer tokens and repeats")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--exe", default=EXE)
    ap.add_argument("--json", help="also write the rows here")
    ap.add_argument("--only", action="append", help="run only this model (repeatable)")
    ap.add_argument("--decode", choices=["auto", "libtorch"], default="auto",
                    help="our CPU decode path: the CPU decode step (auto) or libtorch throughout")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    new_tokens = 32 if args.quick else 128
    repeats = 1 if args.quick else 3
    cases = [("gpt2-124M", 1, "f32"), ("gpt2-124M", 8, "f32"), ("gpt2-124M", 1, "bf16"), ("gpt2-124M", 8, "bf16"),
             ("small-4x256", 1, "f32"), ("small-4x256", 8, "f32"),
             ("small-4x256-v8192", 1, "f32"), ("small-4x256-v8192", 8, "f32")]
    if args.only:
        cases = [c for c in cases if c[0] in args.only]
    rows = []
    hf_f32 = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, batch, dtype in cases:
            model_dir = os.path.join(tmp, name)
            torch.manual_seed(0)
            config = GPT2Config(**MODELS[name])
            model = GPT2LMHeadModel(config).eval()
            if not os.path.exists(model_dir):
                model.save_pretrained(model_dir, safe_serialization=True)
            torch_dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[dtype]
            model = model.to(args.device, dtype=torch_dtype)
            ids = prompt_ids(batch, 32, config.vocab_size).to(args.device)
            hf = time_hf(model, ids, new_tokens, repeats, args.device)
            if dtype == "f32":
                hf_f32[(name, batch)] = hf
            out = subprocess.run([args.exe, model_dir, "--batch", str(batch), "--dtype", dtype, "--prompt-len", "32",
                                  "--new-tokens", str(new_tokens), "--repeats", str(repeats), "--device", args.device,
                                  "--threads", str(args.threads)],
                                 check=True, capture_output=True, text=True,
                                 env=dict(os.environ, LOGITLOOM_DECODE=args.decode))
            result = json.loads(out.stdout.strip().splitlines()[-1])
            ours = result["tokens_per_second"]
            base = hf_f32.get((name, batch), hf)
            row = dict(model=name, batch=batch, dtype=dtype, hf_tokens_per_s=round(hf, 1), logitloom_tokens_per_s=round(ours, 1),
                       ratio_vs_hf_same_dtype=round(ours / hf, 2), ratio_vs_hf_f32=round(ours / base, 2),
                       decode_path=result.get("decode_path"))
            rows.append(row)
            print(json.dumps(row), flush=True)
            del model
    print()
    print(f"| model | batch | dtype | HF tokens/s | logitloom tokens/s | vs HF same dtype | vs HF f32 |")
    print(f"|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['batch']} | {r['dtype']} | {r['hf_tokens_per_s']} | {r['logitloom_tokens_per_s']} | "
              f"{r['ratio_vs_hf_same_dtype']}x | {r['ratio_vs_hf_f32']}x |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
