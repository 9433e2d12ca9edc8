#!/usr/bin/env python3
"""PyTorch reference for logitloom's trainer.

Trains Hugging Face's GPT2LMHeadModel from a model directory written by
`logitloom train` (its `last/` checkpoint at step 0 is the initial weights)
on batches given in a JSON file, with the same optimizer recipe as the Rust
trainer: AdamW (torch.optim.AdamW, single-tensor path on the CPU), weight
decay on 2-D parameters only, global-norm gradient clipping, the learning
rate given per step. Prints one JSON object: {"losses": [...]} or, with
--bench, {"tokens_per_sec": ...}.

Batch file: {"block_size": T, "batch_size": B, "lr": [per step],
"inputs": [[B*T ids] per step], "targets": [[B*T ids] per step],
"beta1", "beta2", "eps", "weight_decay", "grad_clip"}.

Usage: reference_train.py MODEL_DIR BATCHES.json [--threads N] [--device cuda] [--bf16] [--bench STEPS]
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F
from transformers import GPT2LMHeadModel


def build_optimizer(model, spec, fused=False):
    # model.parameters() yields the tied wte/lm_head weight once.
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() != 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": spec["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=spec["lr"][0],
        betas=(spec["beta1"], spec["beta2"]),
        eps=spec["eps"],
        # Parity runs use the plain per-tensor loop, the same arithmetic as
        # ours; GPU benchmarks use the fused kernel, PyTorch's fastest.
        foreach=False if not fused else None,
        fused=fused or None,
    )


def train_step(model, optimizer, spec, step):
    shape = (spec["batch_size"], spec["block_size"])
    device = next(model.parameters()).device
    inputs = torch.tensor(spec["inputs"][step], dtype=torch.long, device=device).view(shape)
    targets = torch.tensor(spec["targets"][step], dtype=torch.long, device=device).view(shape)
    for group in optimizer.param_groups:
        group["lr"] = spec["lr"][step]
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=spec.get("bf16", False)):
        logits = model(input_ids=inputs).logits
    loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.view(-1))
    loss.backward()
    if spec["grad_clip"] > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), spec["grad_clip"])
    optimizer.step()
    return loss.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("batches")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (CUDA)")
    parser.add_argument("--bench", type=int, default=0, help="time this many steps (repeating the batches) instead")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.batches) as f:
        spec = json.load(f)
    spec["bf16"] = args.bf16
    model = GPT2LMHeadModel.from_pretrained(args.model_dir, dtype=torch.float32, attn_implementation="sdpa")
    model.to(args.device).train()
    optimizer = build_optimizer(model, spec, fused=bool(args.bench) and args.device.startswith("cuda"))
    steps = len(spec["inputs"])
    if args.bench:
        first = train_step(model, optimizer, spec, 0)  # warm-up
        start = time.perf_counter()
        for i in range(args.bench):
            last = train_step(model, optimizer, spec, i % steps)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        tokens = args.bench * spec["batch_size"] * spec["block_size"]
        print(json.dumps({"tokens_per_sec": tokens / seconds, "steps": args.bench, "seconds": seconds,
                          "first_loss": first, "last_loss": last}))
        return
    losses = [train_step(model, optimizer, spec, i) for i in range(steps)]
    print(json.dumps({"losses": losses}))


if __name__ == "__main__":
    main()
