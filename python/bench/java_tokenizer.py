"""A GPT-2-sized (50,257 ids) byte-level BPE tokenizer for Java, trained
here on local Java sources, for the benchmark's grammar rows.

There is no GPT-2 tokenizer offline and the shipped model's has 8,192
ids, but a grammar's cost per step grows with the vocabulary, so the
benchmark needs one of GPT-2's size. It is trained with Hugging Face
`tokenizers` (GPT-2's pre-tokenizer and byte-level alphabet, one special
token `<|endoftext|>` at id 0) on the JDK's `src.zip` when one is installed,
else on the repository's own `.java` files.

    .venv/bin/python python/bench/java_tokenizer.py [--out PATH] [--megabytes 24]

Prints the path; an existing file is reused (delete it to retrain).
"""

import argparse
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "target" / "bench" / "java-bpe-50257.json"
VOCAB = 50257
JDK_SOURCES = [
    Path("/usr/lib/jvm/openjdk-17/lib/src.zip"),
    Path("/usr/lib/jvm/java-17-openjdk-amd64/lib/src.zip"),
    Path("/usr/lib/jvm/default-java/lib/src.zip"),
]


def java_texts(megabytes: float):
    """Java source texts up to `megabytes`, in a fixed order (the result does not depend on the run)."""
    budget = int(megabytes * 1e6)
    for zip_path in JDK_SOURCES:
        if zip_path.is_file():
            with zipfile.ZipFile(zip_path) as z:
                names = sorted(n for n in z.namelist() if n.endswith(".java"))
                for name in names:
                    text = z.read(name).decode("utf-8", errors="replace")
                    budget -= len(text)
                    yield text
                    if budget <= 0:
                        return
            return
    print(f"note: no JDK src.zip ({', '.join(map(str, JDK_SOURCES))}); training on the repository's .java files",
          file=sys.stderr)
    for path in sorted(ROOT.rglob("*.java")):
        if "target" in path.parts:
            continue
        yield path.read_text(errors="replace")


def train(out: Path, megabytes: float) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=True,
    )
    tok.train_from_iterator(java_texts(megabytes), trainer=trainer)
    size = tok.get_vocab_size(with_added_tokens=True)
    if size != VOCAB:
        # Too little text to find enough merges: say so rather than benchmark another size.
        raise SystemExit(f"trained {size} ids, not {VOCAB}: give more text (--megabytes)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(out))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--megabytes", type=float, default=24.0, help="Java text to train on")
    args = parser.parse_args()
    path = args.out if args.out.is_file() else train(args.out, args.megabytes)
    print(path)


if __name__ == "__main__":
    main()
