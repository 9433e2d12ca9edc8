#!/usr/bin/env python3
"""Tokenizes `prepare --export-text` output into logitloom token files.

    tokenize_text.py PREPARED_DIR OUT_DIR [--threads N]

PREPARED_DIR holds tokenizer.json, meta.json and text/{train,val,test}.txt
(files separated by `<|endoftext|>`). OUT_DIR gets tokenizer.json,
meta.json (token counts filled in), train.bin, val.bin and test.bin, byte for
byte what `logitloom prepare` writes (trainer/tests/ddp.rs checks this): each
file's tokens, then `<|endoftext|>`. For machines without Rust (the GPU
machines), where carrying compressed text is far smaller than carrying tokens.
"""
import argparse
import hashlib
import json
import os
import shutil
import struct

import numpy as np
from tokenizers import Tokenizer

EOT = "<|endoftext|>"


def write_tokens(path, ids, vocab_size):
    width = 2 if vocab_size <= 1 << 16 else 4
    payload = np.asarray(ids, dtype="<u2" if width == 2 else "<u4").tobytes()
    check = int.from_bytes(hashlib.sha256(payload).digest()[:8], "little")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"LLOOMTOK" + struct.pack("<IIQQ", 1, width, len(ids), check) + payload)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prepared")
    parser.add_argument("out")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    os.makedirs(args.out, exist_ok=True)
    tokenizer = Tokenizer.from_file(os.path.join(args.prepared, "tokenizer.json"))
    eot = tokenizer.token_to_id(EOT)
    if eot is None:
        raise SystemExit(f"{args.prepared}/tokenizer.json has no {EOT} token")
    meta = json.load(open(os.path.join(args.prepared, "meta.json")))
    vocab = tokenizer.get_vocab_size(with_added_tokens=True)
    if vocab != meta["vocab_size"]:
        raise SystemExit(f"{args.prepared}: tokenizer.json has {vocab} tokens, meta.json says {meta['vocab_size']}")
    for split in ("train", "val", "test"):
        text_path = os.path.join(args.prepared, "text", f"{split}.txt")
        if not os.path.exists(text_path):
            continue
        text = open(text_path, encoding="utf-8").read()
        files = text.split(EOT)
        if files and files[-1] == "":
            files.pop()
        ids = []
        for start in range(0, len(files), 4096):
            for enc in tokenizer.encode_batch(files[start:start + 4096], add_special_tokens=False):
                ids.extend(enc.ids)
                ids.append(eot)
        write_tokens(os.path.join(args.out, f"{split}.bin"), ids, vocab)
        if split in meta and isinstance(meta[split], dict):
            meta[split]["tokens"] = len(ids)
        print(f"{split}: {len(files)} files, {len(text.encode()) / 1e6:.1f} MB, {len(ids)} tokens", flush=True)
    shutil.copyfile(os.path.join(args.prepared, "tokenizer.json"), os.path.join(args.out, "tokenizer.json"))
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)


if __name__ == "__main__":
    main()
