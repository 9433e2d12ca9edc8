"""End to end with Hugging Face `transformers`: the shipped default model
(HF layout) under `generate` with a logitloom chain, against `logitloom
generate` with the same chain and seed.

The two engines' logits differ by up to ~1e-4 (different kernels), so a
near tie can flip a choice; from there on the sequences are different
texts and nothing more can be compared. The comparison therefore runs up to
the first difference and then requires that difference to be such a tie.
"""

import json
import subprocess

import pytest

import logitloom
from conftest import MODEL, ROOT, TOKENIZER, cli_binary, require_module

torch = require_module("torch")
transformers = require_module("transformers")

PROMPTS = [
    "public class BinarySearchTree {\n",
    "import java.util.*;\n\npublic class Graph {\n    private final Map<Integer, List<Integer>> adj",
    "public static int gcd(int a, int b) {",
]
NEW_TOKENS = 80


@pytest.fixture(scope="module")
def model():
    m = transformers.AutoModelForCausalLM.from_pretrained(str(MODEL), dtype=torch.float32)
    return m.eval()


@pytest.fixture(scope="module")
def hf_tokenizer():
    return transformers.PreTrainedTokenizerFast(tokenizer_file=str(TOKENIZER), eos_token="<|endoftext|>")


@pytest.fixture(scope="module")
def greedy_chain(tmp_path_factory):
    path = tmp_path_factory.mktemp("chains") / "greedy-entropy.toml"
    path.write_text('[[stage]]\nplugin = "entropy_logger"\ntop_n = 5\n\n[[stage]]\nplugin = "greedy"\n')
    return path


def cli_generate(chain, prompt, seed, tmp_path):
    """Tokens and trace records of `logitloom generate` (the entropy logger records each chosen token)."""
    trace = tmp_path / "trace.jsonl"
    done = subprocess.run(
        [str(cli_binary()), "generate", "--model", str(MODEL), "--device", "cpu", "--prompt", prompt,
         "--chain", str(chain), "--seed", str(seed), "--max-new-tokens", str(NEW_TOKENS), "--trace", str(trace)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line)["record"] for line in trace.read_text().splitlines()]
    records = [r for r in records if "token" in r]
    return [r["token"] for r in records], records


def hf_generate(model, hf_tokenizer, processor, prompt, **kwargs):
    ids = hf_tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    eos = hf_tokenizer.eos_token_id
    with torch.no_grad():
        out = model.generate(
            ids, attention_mask=torch.ones_like(ids), max_new_tokens=NEW_TOKENS, eos_token_id=eos, pad_token_id=eos,
            logits_processor=transformers.LogitsProcessorList([processor]), **kwargs,
        )
    return out[0, ids.shape[1]:].tolist()


def compare(cli_tokens, cli_records, py_tokens, py_records, greedy):
    """Steps that agree; asserts the first disagreement, if any, is a near tie."""
    n = 0
    while n < min(len(cli_tokens), len(py_tokens)) and cli_tokens[n] == py_tokens[n]:
        n += 1
    for a, b in zip(cli_records[:n], py_records[:n]):
        # Same token, same context: the two engines' distributions agree closely.
        assert abs(a["raw_logprob"] - b["raw_logprob"]) < 1e-3, (a, b)
    if n == len(cli_tokens) == len(py_tokens):
        return n, None
    assert n < min(len(cli_tokens), len(py_tokens)), "one engine stopped early without a differing token"
    a, b = cli_records[n], py_records[n]
    if greedy:
        top = a["top"]
        margin = top[0]["prob"] - top[1]["prob"]
        assert margin < 1e-3 and {top[0]["token"], top[1]["token"]} == {a["token"], b["token"]}, (a, b)
    else:
        # A seeded draw lands on the other side of a cumulative-probability
        # boundary only when the distributions differ; they must still be close.
        assert abs(a["raw_logprob"] - b["raw_logprob"]) < 1e-3 and a["entropy_before"] == pytest.approx(b["entropy_before"], abs=1e-3)
    return n, (n, a["token"], b["token"])


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("mode", ["greedy", "conservative"])
def test_generate_matches_the_cli(model, hf_tokenizer, greedy_chain, mode, prompt, tmp_path):
    chain_path = greedy_chain if mode == "greedy" else ROOT / "configs" / "conservative-entropy.toml"
    seed = 3
    cli_tokens, cli_records = cli_generate(chain_path, prompt, seed, tmp_path)
    chain = logitloom.Chain.from_toml(chain_path, tokenizer=hf_tokenizer)
    processor = chain.logits_processor(seed=seed)
    py_tokens = hf_generate(model, hf_tokenizer, processor, prompt, do_sample=False)
    py_records = [o["record"] for o in processor.take_observations()]
    assert [r["token"] for r in py_records] == py_tokens
    agreed, diverged = compare(cli_tokens, cli_records, py_tokens, py_records, greedy=mode == "greedy")
    print(f"{mode} {prompt[:20]!r}: {agreed} tokens agree; first difference {diverged}")
    assert agreed >= 10


def test_sampling_mode_emits_the_chains_choice(model, hf_tokenizer):
    """do_sample=True, even with generate's own warpers, emits the same tokens as greedy mode."""
    chain = logitloom.Chain.from_toml(ROOT / "configs" / "conservative.toml", tokenizer=hf_tokenizer)
    greedy = hf_generate(model, hf_tokenizer, chain.logits_processor(seed=7), PROMPTS[0], do_sample=False)
    sampled = hf_generate(
        model, hf_tokenizer, chain.logits_processor(seed=7), PROMPTS[0], do_sample=True, top_k=50, temperature=0.7
    )
    assert sampled == greedy
    other_seed = hf_generate(model, hf_tokenizer, chain.logits_processor(seed=8), PROMPTS[0], do_sample=False)
    assert other_seed != greedy


def test_a_processor_is_reused_across_generate_calls(model, hf_tokenizer):
    chain = logitloom.Chain.from_toml(ROOT / "configs" / "conservative-entropy.toml", tokenizer=hf_tokenizer)
    shared = chain.logits_processor(seed=1)
    first = [hf_generate(model, hf_tokenizer, shared, p, do_sample=False) for p in PROMPTS]
    fresh = [hf_generate(model, hf_tokenizer, chain.logits_processor(seed=1), p, do_sample=False) for p in PROMPTS]
    assert first == fresh
    again = hf_generate(model, hf_tokenizer, shared, PROMPTS[0], do_sample=False)
    assert again == first[0]


def test_batched_generate_runs_one_chain_per_row(model, hf_tokenizer):
    chain = logitloom.Chain.from_toml(ROOT / "configs" / "conservative.toml", tokenizer=hf_tokenizer)
    eos = hf_tokenizer.eos_token_id
    ids = hf_tokenizer([PROMPTS[2]] * 3, return_tensors="pt", add_special_tokens=False).input_ids
    processor = chain.logits_processor(seed=20)
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=30, do_sample=False,
                             eos_token_id=eos, pad_token_id=eos,
                             logits_processor=transformers.LogitsProcessorList([processor]))
    rows = out[:, ids.shape[1]:].tolist()
    # Row i is seeded 20 + i: the same as generating it alone with that seed.
    for i, row in enumerate(rows):
        alone = hf_generate(model, hf_tokenizer, chain.logits_processor(seed=20 + i), PROMPTS[2], do_sample=False)
        assert row[: len(alone)] == alone[:30]


def test_tokenizer_kinds_give_the_same_token_bytes(hf_tokenizer, tokenizer):
    by_path = logitloom.token_bytes(TOKENIZER)
    assert logitloom.token_bytes(tokenizer) == by_path
    assert logitloom.token_bytes(hf_tokenizer) == by_path
    assert by_path[hf_tokenizer.convert_tokens_to_ids("public")] == b"public"


def test_inplace_processor_gives_the_same_tokens(model, hf_tokenizer):
    """inplace=True works on generate's own scores tensor: same tokens, same trace."""
    chain = logitloom.Chain.from_toml(ROOT / "configs" / "conservative-entropy.toml", tokenizer=hf_tokenizer)
    copying, in_place = chain.logits_processor(seed=5), chain.logits_processor(seed=5, inplace=True)
    assert hf_generate(model, hf_tokenizer, in_place, PROMPTS[1], do_sample=False) == hf_generate(
        model, hf_tokenizer, copying, PROMPTS[1], do_sample=False
    )
    assert in_place.take_observations() == copying.take_observations()
