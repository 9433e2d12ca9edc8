#!/usr/bin/env python3
"""Trains logitloom's GPT-2 with PyTorch DDP, for runs past one GPU.

    torchrun --standalone --nproc_per_node N trainer/scripts/ddp_train.py --config configs/train/X.toml
    python3 trainer/scripts/ddp_train.py --config X.toml          # one process, no torchrun

Reads the same TOML config as `logitloom train` (data.dir from `logitloom
prepare`, model sizes or preset, optim, train, eval, out) and the same token
files, and draws the same batches: a step's global batch is the
`batch_size x grad_accum` windows that `logitloom train` draws for that step
(same SplitMix64 seeds), cut into equal contiguous shares, one per rank; the
learning rate follows the same warm-up + cosine. So N ranks and one process
see the same global batch and, in f32, the same loss to rounding.

The model is transformers' GPT2LMHeadModel (its own initialisation, not
logitloom's); AdamW with weight decay on 2-D parameters only and global-norm
clipping, as in logitloom. Writes OUT/log.jsonl (the records `logitloom
plot-loss` reads) and OUT/last/, OUT/best/ (config.json, model.safetensors
f32, tokenizer.json), which `logitloom generate --model` loads unchanged.
There is no optimizer state in them: this script does not resume.

Options beyond the config: --out, --max-steps, --max-seconds (stop early,
evaluate and save: for time-boxed machines), --device, --compile
(torch.compile, CUDA), --init DIR (start from a model directory's weights).
"""
import argparse
import contextlib
import hashlib
import json
import math
import os
import shutil
import struct
import time
import tomllib

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from transformers import GPT2Config, GPT2LMHeadModel

MASK = (1 << 64) - 1
TRAIN_STREAM, EVAL_STREAM, DROPOUT_STREAM = 1, 2, 3
PRESETS = {"gpt2": (12, 12, 768), "gpt2-medium": (24, 16, 1024), "small": (4, 4, 256), "tiny": (2, 2, 32)}


class SplitMix64:
    """trainer/src/data.rs, bit for bit: batches are the Rust trainer's."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        zone = MASK - MASK % n
        while True:
            x = self.next_u64()
            if x < zone:
                return x % n


def derive_seed(parts):
    acc = 0x6C6F6769746C6F6F
    for part in parts:
        acc = SplitMix64(acc ^ (part & MASK)).next_u64()
    return acc


def window_starts(tokens_len, block_size, batch_size, seed):
    rng = SplitMix64(seed)
    return [rng.below(tokens_len - block_size) for _ in range(batch_size)]


def learning_rate(step, lr, min_lr, warmup, decay_steps):
    """trainer/src/schedule.rs."""
    if step < warmup:
        return lr * (step + 1) / (warmup + 1)
    if step >= decay_steps:
        return min_lr
    progress = (step - warmup) / max(decay_steps - warmup, 1)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr - min_lr)


def read_tokens(path, vocab_size):
    """trainer/src/tokens.rs: 32-byte header, then little-endian u16 or u32 tokens."""
    with open(path, "rb") as f:
        header = f.read(32)
    if len(header) < 32 or header[:8] != b"LLOOMTOK":
        raise SystemExit(f"token file {path}: not a logitloom token file")
    version, width, count, check = struct.unpack("<IIQQ", header[8:])
    if version != 1 or width not in (2, 4):
        raise SystemExit(f"token file {path}: version {version}, width {width}; this script reads version 1, width 2 or 4")
    tokens = np.memmap(path, dtype="<u2" if width == 2 else "<u4", mode="r", offset=32)
    if len(tokens) != count:
        raise SystemExit(f"token file {path}: header says {count} tokens, file holds {len(tokens)}")
    if int.from_bytes(hashlib.sha256(tokens.tobytes()).digest()[:8], "little") != check:
        raise SystemExit(f"token file {path}: checksum mismatch: the file is corrupt")
    return tokens


def load_config(path):
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    model, optim, train, ev = raw.get("model", {}), raw.get("optim", {}), raw["train"], raw.get("eval", {})
    preset = PRESETS.get(model.get("preset"), (None, None, None)) if model.get("preset") else (None, None, None)
    if model.get("preset") and model["preset"] not in PRESETS:
        raise SystemExit(f"config {path}: key `model.preset` = {model['preset']!r}: known presets are {', '.join(PRESETS)}")
    sizes = [model.get(k, d) for k, d in zip(("n_layer", "n_head", "n_embd"), preset)]
    if None in sizes:
        raise SystemExit(f"config {path}: set model.n_layer, n_head and n_embd, or model.preset")
    c = {
        "data_dir": raw["data"]["dir"], "out_dir": raw["out"]["dir"],
        "n_layer": sizes[0], "n_head": sizes[1], "n_embd": sizes[2],
        "block_size": model.get("block_size", 256), "dropout": model.get("dropout", 0.0),
        "lr": optim.get("lr", 6e-4), "min_lr": optim.get("min_lr", 6e-5), "warmup_steps": optim.get("warmup_steps", 100),
        "decay_steps": optim.get("decay_steps"), "beta1": optim.get("beta1", 0.9), "beta2": optim.get("beta2", 0.95),
        "eps": optim.get("eps", 1e-8), "weight_decay": optim.get("weight_decay", 0.1), "grad_clip": optim.get("grad_clip", 1.0),
        "max_steps": train["max_steps"], "batch_size": train.get("batch_size", 16), "grad_accum": train.get("grad_accum", 1),
        "seed": train.get("seed", 1337), "device": train.get("device", "auto"), "dtype": train.get("dtype", "f32"),
        "threads": train.get("threads"), "eval_interval": ev.get("interval", 100), "eval_iters": ev.get("iters", 20),
    }
    return c


def batch(tokens, starts, block_size, device):
    rows = np.stack([np.asarray(tokens[s:s + block_size + 1], dtype=np.int64) for s in starts])
    rows = torch.from_numpy(rows).to(device, non_blocking=True)
    return rows[:, :-1], rows[:, 1:]


def save_model_dir(model, tokenizer_json, out_dir, name):
    """Writes OUT/NAME via a temporary directory, so an interrupted write leaves the old one."""
    final, tmp = os.path.join(out_dir, name), os.path.join(out_dir, f".{name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    shutil.copyfile(tokenizer_json, os.path.join(tmp, "tokenizer.json"))
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--out", help="run directory (default: the config's out.dir)")
    parser.add_argument("--max-steps", type=int, help="override train.max_steps (the cosine follows it unless optim.decay_steps is set)")
    parser.add_argument("--max-seconds", type=float, help="stop after this much training time, evaluate and save")
    parser.add_argument("--device", help="override train.device: cpu, cuda")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA)")
    parser.add_argument("--init", help="a model directory whose weights to start from")
    args = parser.parse_args()
    c = load_config(args.config)
    if args.max_steps is not None:
        c["max_steps"] = args.max_steps
    out_dir = args.out or c["out_dir"]
    decay_steps = c["decay_steps"] or c["max_steps"]

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device_name = args.device or c["device"]
    if device_name == "auto":
        device_name = "cuda" if torch.cuda.is_available() else "cpu"
    if device_name.startswith("cuda"):
        device = torch.device("cuda", local_rank if world > 1 else (torch.device(device_name).index or 0))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if c["threads"]:
        torch.set_num_threads(c["threads"])
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True

    meta = json.load(open(os.path.join(c["data_dir"], "meta.json")))
    vocab = meta["vocab_size"]
    train_tokens = read_tokens(os.path.join(c["data_dir"], "train.bin"), vocab)
    val_tokens = read_tokens(os.path.join(c["data_dir"], "val.bin"), vocab)
    tokenizer_json = os.path.join(c["data_dir"], "tokenizer.json")

    global_batch = c["batch_size"] * c["grad_accum"]
    if global_batch % world:
        raise SystemExit(f"config {args.config}: train.batch_size x grad_accum = {global_batch} windows per step do not split over {world} ranks")
    share = global_batch // world
    micro = c["batch_size"] if share % c["batch_size"] == 0 else share
    # Initial weights depend on the seed alone, so every rank builds the same
    # model (DDP also broadcasts rank 0's at wrap time).
    torch.manual_seed(derive_seed([c["seed"], 0]) >> 1)
    config = GPT2Config(
        vocab_size=vocab, n_positions=c["block_size"], n_ctx=c["block_size"], n_embd=c["n_embd"], n_layer=c["n_layer"],
        n_head=c["n_head"], resid_pdrop=c["dropout"], embd_pdrop=c["dropout"], attn_pdrop=c["dropout"],
        bos_token_id=meta["end_of_text_id"], eos_token_id=meta["end_of_text_id"], activation_function="gelu_new",
        tie_word_embeddings=True,
    )
    if args.init:
        model = GPT2LMHeadModel.from_pretrained(args.init, dtype=torch.float32, attn_implementation="sdpa")
    else:
        model = GPT2LMHeadModel(config)
    model.config._attn_implementation = "sdpa"
    model.to(device).train()
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() != 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": c["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=c["lr"], betas=(c["beta1"], c["beta2"]), eps=c["eps"], fused=device.type == "cuda" or None, foreach=False if device.type == "cpu" else None,
    )
    raw_model = model
    if args.compile:
        model = torch.compile(model)
    ddp = world > 1
    if ddp:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=c["dtype"] == "bf16" and device.type == "cuda")

    def evaluate():
        raw_model.eval()
        total = 0.0
        with torch.no_grad(), autocast:
            for i in range(c["eval_iters"]):
                starts = window_starts(len(val_tokens), c["block_size"], c["batch_size"], derive_seed([c["seed"], EVAL_STREAM, i]))
                x, y = batch(val_tokens, starts, c["block_size"], device)
                logits = raw_model(input_ids=x).logits
                total += F.cross_entropy(logits.float().view(-1, vocab), y.reshape(-1)).item()
        raw_model.train()
        return total / c["eval_iters"]

    if rank == 0:
        os.makedirs(out_dir, exist_ok=True)
        log = open(os.path.join(out_dir, "log.jsonl"), "w")
        print(f"ddp_train: {world} rank(s) on {device.type}, {n_params / 1e6:.2f}M parameters, {c['n_layer']}x{c['n_embd']}, "
              f"global batch {global_batch} x {c['block_size']} tokens, {c['max_steps']} steps", flush=True)
    tokens_per_step = global_batch * c["block_size"]
    best = None
    started = time.perf_counter()
    step = 0
    while step < c["max_steps"]:
        t0 = time.perf_counter()
        lr = learning_rate(step, c["lr"], c["min_lr"], c["warmup_steps"], decay_steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        torch.manual_seed(derive_seed([c["seed"], DROPOUT_STREAM, step, rank]) >> 1)
        starts = []
        for m in range(c["grad_accum"]):
            starts += window_starts(len(train_tokens), c["block_size"], c["batch_size"], derive_seed([c["seed"], TRAIN_STREAM, step, m]))
        mine = starts[rank * share:(rank + 1) * share]
        pieces = [mine[i:i + micro] for i in range(0, share, micro)]
        optimizer.zero_grad(set_to_none=True)
        loss_sum = torch.zeros((), device=device)
        for i, piece in enumerate(pieces):
            x, y = batch(train_tokens, piece, c["block_size"], device)
            # Gradients are averaged across ranks once, on the last micro-batch.
            sync = contextlib.nullcontext() if not ddp or i == len(pieces) - 1 else model.no_sync()
            with sync:
                with autocast:
                    logits = model(input_ids=x).logits
                loss = F.cross_entropy(logits.float().view(-1, vocab), y.reshape(-1)) / len(pieces)
                loss.backward()
            loss_sum += loss.detach()
        if ddp:
            dist.all_reduce(loss_sum)
            loss_sum /= world
        grad_norm = torch.nn.utils.clip_grad_norm_(raw_model.parameters(), c["grad_clip"] if c["grad_clip"] > 0 else float("inf"))
        optimizer.step()
        loss = loss_sum.item()
        step += 1
        seconds = time.perf_counter() - t0
        elapsed = time.perf_counter() - started
        out_of_time = args.max_seconds is not None and elapsed >= args.max_seconds
        if ddp:
            # Every rank must agree to stop, or the next collective would hang.
            flag = torch.tensor([1.0 if out_of_time else 0.0], device=device)
            dist.all_reduce(flag)
            out_of_time = flag.item() > 0
        if not math.isfinite(loss):
            raise SystemExit(f"training diverged: loss {loss} at step {step - 1}; lower optim.lr")
        if rank == 0:
            log.write(json.dumps({"event": "train", "step": step, "tokens": step * tokens_per_step, "loss": loss, "lr": lr,
                                  "grad_norm": float(grad_norm), "tokens_per_sec": tokens_per_step / seconds, "elapsed_s": elapsed}) + "\n")
        last = step == c["max_steps"] or out_of_time
        if step % c["eval_interval"] == 0 or last:
            if rank == 0:
                val_loss = evaluate()
                log.write(json.dumps({"event": "eval", "step": step, "tokens": step * tokens_per_step, "val_loss": val_loss}) + "\n")
                log.flush()
                save_model_dir(raw_model, tokenizer_json, out_dir, "last")
                if best is None or val_loss < best:
                    best = val_loss
                    save_model_dir(raw_model, tokenizer_json, out_dir, "best")
                print(f"step {step}: loss {loss:.4f}, val {val_loss:.4f}, lr {lr:.2e}, {tokens_per_step / seconds:.0f} tokens/s", flush=True)
            if ddp:
                dist.barrier()
        if out_of_time:
            break
    if rank == 0:
        log.close()
        print(f"ddp_train: {step} steps in {time.perf_counter() - started:.1f} s; best val loss {best:.4f}; model in {out_dir}/best", flush=True)
    if ddp:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
