#!/usr/bin/env python3
"""Copies a training checkpoint to a lean model directory with f16 weights.

Checkpoints keep f32 weights (exact resumption) plus optimizer state; a
shipped model needs neither. Writes config.json, tokenizer.json and
model.safetensors (f16, same tensor names and layout, with the
{"format": "pt"} metadata transformers expects).

Usage: export_f16.py CHECKPOINT_DIR OUT_DIR
"""
import shutil
import sys
from pathlib import Path

from safetensors.torch import load_file, save_file


def main():
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.half().contiguous() for name, t in load_file(source / "model.safetensors").items()}
    save_file(tensors, out / "model.safetensors", metadata={"format": "pt"})
    for name in ("config.json", "tokenizer.json"):
        shutil.copyfile(source / name, out / name)
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"{out}: {len(tensors)} tensors, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
