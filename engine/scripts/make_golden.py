#!/usr/bin/env python3
"""Golden files for the engine's parity tests (the llm.c habit).

Builds a small randomly initialised GPT-2 with Hugging Face `transformers`,
a byte-level BPE tokenizer trained on the repository's own Java test files,
and the logits `transformers` computes for fixed inputs. The Rust tests load
the same directory and must reproduce the logits within 1e-4 (f32).

    python engine/scripts/make_golden.py OUT_DIR

Everything is seeded, so running it again reproduces the committed files;
the parity test regenerates into a temporary directory and compares.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
from transformers import GPT2Config, GPT2LMHeadModel

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

# Deliberately not a power of two anywhere, so a transposed or mis-split
# weight cannot pass by accident.
CONFIG = dict(vocab_size=300, n_positions=96, n_embd=48, n_layer=3, n_head=4)

CORPUS = [
    "public class Node {\n    int key;\n    Node left, right;\n}\n",
    "int search(int key) { return key < 0 ? -1 : key; }\n",
    "String café = \"naïve\"; // non-ASCII\n",
    "for (int i = 0; i < n; i++) { sum += a[i]; }\n",
]


def make_tokenizer(vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 20, trainer=trainer)
    return tok


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "engine", "tests", "golden")
    model_dir = os.path.join(out, "tiny-gpt2")
    os.makedirs(model_dir, exist_ok=True)
    torch.manual_seed(1234)
    tok = make_tokenizer(CONFIG["vocab_size"])
    vocab = tok.get_vocab_size()
    eos = tok.token_to_id("<|endoftext|>")
    config = GPT2Config(**{**CONFIG, "vocab_size": vocab}, bos_token_id=eos, eos_token_id=eos,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(config).eval()
    # Non-trivial LayerNorm parameters, so a missing or misnamed one shows.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln_" in name:
                p.add_(torch.randn_like(p) * 0.1)
    model.save_pretrained(model_dir, safe_serialization=True)
    tok.save(os.path.join(model_dir, "tokenizer.json"))

    text = CORPUS[0] + CORPUS[2]
    ids = tok.encode(text).ids
    batch = torch.tensor([ids[:40], ids[5:45]], dtype=torch.long)
    with torch.no_grad():
        logits = model(batch).logits.float().contiguous()
    save_file({"input_ids": batch, "logits": logits}, os.path.join(out, "logits.safetensors"))
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("Made by `python engine/scripts/make_golden.py`; do not edit by hand.\n"
                f"transformers GPT2LMHeadModel, config {json.dumps(CONFIG)}, seed 1234.\n")
    print(f"wrote {out}: vocab {vocab}, batch {tuple(batch.shape)}, logits {tuple(logits.shape)}")


if __name__ == "__main__":
    main()
