"""Rewinds from Python: a stage that asks to take tokens back is refused,
the refusal is in the trace, and decoding goes on forward, both through
`Sequences.step` and inside Hugging Face `generate` (neither can rewind:
the caller would have to drop tokens and its KV cache)."""

import numpy as np
import pytest

import logitloom
from conftest import ROOT, TOKENIZER, native_plugin, require_module

VOCAB, EOS = 64, 63
CYCLE = [10, 11, 12]
REFUSED = "the caller cannot rewind"
STEPS = 12


def word_tokenizer():
    # loop_breaker reads token texts (it goes back to a word, preferably at a
    # line start): a 64-word vocabulary to match the rows here.
    tokenizers = require_module("tokenizers")
    vocab = {f"w{i}": i for i in range(VOCAB)}
    return tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="w0"))


def loop_breaker_chain():
    # Loops as short as the forced 3-token cycle: asks from its second copy on.
    return logitloom.Chain.from_toml(
        '[[stage]]\nplugin = "loop_breaker"\nmax_period = 8\nmin_span = 6\nmin_match = 4\n\n'
        '[[stage]]\nplugin = "greedy"\n',
        eos_token_id=EOS,
        tokenizer=word_tokenizer(),
    )


def wat_chain():
    wat = ROOT / "plugins" / "testing" / "wat" / "rewind_at_step_3.wat"
    lib = native_plugin("logitloom-test-plugins")
    return logitloom.Chain.from_toml(
        f'[[stage]]\npath = "{wat}"\nprocessor = "rewind_at_step_3"\n\n[[stage]]\npath = "{lib}"\nprocessor = "argmax"\n',
        eos_token_id=EOS,
    )


CHAINS = {"loop_breaker": loop_breaker_chain, "rewind_at_step_3.wat": wat_chain}


def cycle_row(step: int) -> np.ndarray:
    """Logits that make every chain here pick CYCLE[step % 3]."""
    row = np.linspace(-1.0, 1.0, VOCAB, dtype=np.float32)
    row[CYCLE[step % len(CYCLE)]] = 20.0
    return row


def check_refusals(observations, rewinds, stage, first_step):
    events = [o for o in observations if "rewind" in o["record"]]
    assert events, "the chain asked for no rewind: the test's logits no longer provoke one"
    for o in events:
        event = o["record"]["rewind"]
        assert o["stage"] == stage == event["stage"]
        assert event["granted"] is False and event["refused"] == REFUSED, event
        assert event["discarded"] == 0 and event["to_len"] < event["from_len"]
    assert events[0]["step"] == first_step
    assert rewinds == [{"granted": 0, "refused": len(events), "discarded": 0}]
    return events


@pytest.mark.parametrize("name", CHAINS)
def test_state_step_refuses_rewinds_and_traces_them(name):
    chain = CHAINS[name]()
    assert chain.may_rewind
    state = chain.new_sequences([[1, 2, 3]], seed=0)
    tokens = [state.step(cycle_row(t)[None, :])[0] for t in range(STEPS)]
    # Forward all the way: every step gave its token, none was taken back.
    assert tokens == [CYCLE[t % 3] for t in range(STEPS)] == state.tokens[0]
    stage = "loop_breaker" if name == "loop_breaker" else "rewind_at_step_3"
    # loop_breaker sees 10 11 12 10 11 12 at step 6; the WAT stage asks at step 3 only.
    events = check_refusals(state.take_observations(), state.rewinds, stage, 6 if name == "loop_breaker" else 3)
    if name != "loop_breaker":
        assert len(events) == 1 and events[0]["record"]["rewind"]["ban"] == [CYCLE[2]]


@pytest.mark.parametrize("name", CHAINS)
def test_generate_refuses_rewinds_and_traces_them(name):
    torch = require_module("torch")
    transformers = require_module("transformers")
    torch.manual_seed(0)
    # A tiny random GPT-2 (built here, nothing downloaded); a processor ahead
    # of the chain forces the 3-token cycle, which is what loop_breaker hunts.
    config = transformers.GPT2Config(vocab_size=VOCAB, n_positions=64, n_embd=16, n_layer=1, n_head=2,
                                     eos_token_id=EOS, bos_token_id=EOS)
    model = transformers.GPT2LMHeadModel(config).eval()

    class Cycle(transformers.LogitsProcessor):
        def __init__(self, prompt_len):
            self.prompt_len = prompt_len

        def __call__(self, input_ids, scores):
            scores = scores.clone()
            scores[:, CYCLE[(input_ids.shape[1] - self.prompt_len) % 3]] += 1000.0
            return scores

    chain = CHAINS[name]()
    processor = chain.logits_processor(seed=0)
    ids = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        out = model.generate(
            ids, attention_mask=torch.ones_like(ids), max_new_tokens=STEPS, do_sample=False, eos_token_id=EOS,
            pad_token_id=EOS, logits_processor=transformers.LogitsProcessorList([Cycle(ids.shape[1]), processor]),
        )
    assert out[0, 3:].tolist() == [CYCLE[t % 3] for t in range(STEPS)]
    stage = "loop_breaker" if name == "loop_breaker" else "rewind_at_step_3"
    check_refusals(processor.take_observations(), processor.sequences.rewinds, stage, 6 if name == "loop_breaker" else 3)


def test_a_chain_without_rewinding_stages_says_so():
    assert not logitloom.Chain.from_toml('[[stage]]\nplugin = "greedy"\n', eos_token_id=EOS).may_rewind
    assert logitloom.Chain.from_toml(ROOT / "configs" / "greedy-loop-breaker.toml", tokenizer=TOKENIZER).may_rewind
