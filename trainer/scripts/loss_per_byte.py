#!/usr/bin/env python3
"""Validation loss per byte of a model on `prepare --export-text` text.

    loss_per_byte.py MODEL_DIR TEXT_FILE [--max-files N] [--device cuda] [--json]

Each file (the text between `<|endoftext|>` markers) is tokenized with the
model's own tokenizer and scored in windows of the model's context (stride
half a context, so every prediction after the first window sees at least
half a context; the first token of a file is predicted from nothing and not
counted, nor is the end-of-text token). Loss per byte = summed negative
log-likelihood (nats) / UTF-8 bytes of the scored text, so models with
different vocabularies compare; bits per byte = that / ln 2.
Files are taken in a fixed order (every k-th), so two models see the same ones.
"""
import argparse
import json
import math
import os

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import GPT2LMHeadModel

EOT = "<|endoftext|>"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("text_file")
    parser.add_argument("--max-files", type=int, default=2000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tokenizer = Tokenizer.from_file(os.path.join(args.model_dir, "tokenizer.json"))
    model = GPT2LMHeadModel.from_pretrained(args.model_dir, dtype=torch.float32).to(args.device).eval()
    context = model.config.n_positions
    files = [f for f in open(args.text_file, encoding="utf-8").read().split(EOT) if f]
    step = max(1, len(files) // args.max_files)
    files = files[::step][: args.max_files]
    nll = 0.0
    scored_bytes = 0
    tokens = 0
    with torch.no_grad():
        for text in files:
            enc = tokenizer.encode(text, add_special_tokens=False)
            ids, offsets = enc.ids, enc.offsets
            if len(ids) < 2:
                continue
            # Bytes of the tokens that are predicted (all but the first).
            first_end = len(text[: offsets[0][1]].encode("utf-8"))
            scored_bytes += len(text.encode("utf-8")) - first_end
            tokens += len(ids) - 1
            begin, next_target = 0, 1
            stride = max(context // 2, 1)
            while next_target < len(ids):
                end = min(begin + context, len(ids))
                window = torch.tensor([ids[begin:end]], device=args.device)
                logp = F.log_softmax(model(window).logits[0].float(), -1)
                targets = torch.tensor(ids[next_target:end], device=args.device)
                rows = torch.arange(next_target - 1 - begin, end - 1 - begin, device=args.device)
                nll -= logp[rows, targets].sum().item()
                next_target = end
                begin += stride
    result = {"model": args.model_dir, "text": args.text_file, "files": len(files), "tokens": tokens, "bytes": scored_bytes,
              "loss_per_token": nll / tokens, "loss_per_byte": nll / scored_bytes, "bits_per_byte": nll / scored_bytes / math.log(2),
              "bytes_per_token": scored_bytes / tokens}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.model_dir} on {args.text_file}: {len(files)} files, {tokens} tokens, {scored_bytes} bytes: "
              f"{result['loss_per_token']:.4f} nats/token, {result['loss_per_byte']:.4f} nats/byte ({result['bits_per_byte']:.4f} bits/byte)")


if __name__ == "__main__":
    main()
