"""`logitloom serve` through the official `openai` client: what editors,
agents and harnesses would use. Starts the built CLI on a free loopback
port with the default model and the shipped presets."""

import sys

import pytest

from conftest import ROOT, cli_binary, require_module

# The load script's server start-up: one place knows the address line.
sys.path.insert(0, str(ROOT / "bench" / "scripts"))
from serve_load import start_server  # noqa: E402

openai = require_module("openai", "./dev.sh setup installs it (pinned) into .venv")

# Token 0 is the default model's end-of-text: banning it makes every
# generation run to max_tokens, so lengths are known.
NO_EOS = {"0": -100}


@pytest.fixture(scope="module")
def client():
    proc, base = start_server(cli_binary(), "--max-batch", "8", "--api-key", "test-key")
    try:
        yield openai.OpenAI(base_url=f"{base}/v1", api_key="test-key", max_retries=0, timeout=60)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_completion(client):
    r = client.completions.create(model="default", prompt="public class Main {", max_tokens=12, seed=4, logit_bias=NO_EOS)
    assert r.object == "text_completion"
    assert r.usage.completion_tokens == 12
    assert r.choices[0].finish_reason == "length"
    assert r.choices[0].text
    again = client.completions.create(model="default", prompt="public class Main {", max_tokens=12, seed=4, logit_bias=NO_EOS)
    assert again.choices[0].text == r.choices[0].text


def test_streaming_matches_one_response(client):
    args = dict(model="default", prompt="int count = 0;", max_tokens=16, seed=8, temperature=0.8, logit_bias=NO_EOS)
    whole = client.completions.create(**args).choices[0].text
    chunks = list(client.completions.create(stream=True, **args))
    assert len(chunks) > 2
    assert "".join(c.choices[0].text for c in chunks) == whole
    assert chunks[-1].choices[0].finish_reason == "length"


def test_per_request_chain(client):
    # A preset by name (extra_body carries the non-OpenAI field), and an inline chain.
    greedy = client.completions.create(model="default", prompt="for (int i = 0;", max_tokens=10, seed=1, logit_bias=NO_EOS, extra_body={"chain": "greedy"})
    assert greedy.model_extra["chain"]["name"] == "greedy"
    other_seed = client.completions.create(model="default", prompt="for (int i = 0;", max_tokens=10, seed=2, logit_bias=NO_EOS, extra_body={"chain": "greedy"})
    assert other_seed.choices[0].text == greedy.choices[0].text
    inline = client.completions.create(
        model="default",
        prompt="for (int i = 0;",
        max_tokens=10,
        seed=3,
        logit_bias=NO_EOS,
        extra_body={"chain": {"stage": [{"plugin": "top_k", "k": 1}, {"plugin": "multinomial"}]}},
    )
    assert inline.choices[0].text == greedy.choices[0].text
    assert inline.model_extra["chain"]["name"] == "inline"


def test_errors_are_openai_errors(client):
    with pytest.raises(openai.BadRequestError) as bad:
        client.completions.create(model="default", prompt="x", max_tokens=0)
    assert bad.value.status_code == 400
    assert "max_tokens" in str(bad.value)
    with pytest.raises(openai.BadRequestError) as unknown:
        client.completions.create(model="default", prompt="x", max_tokens=4, extra_body={"chain": "no_such_chain"})
    assert "no_such_chain" in str(unknown.value)
    keyless = openai.OpenAI(base_url=str(client.base_url), api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        keyless.completions.create(model="default", prompt="x", max_tokens=2)


def test_models(client):
    assert [m.id for m in client.models.list()] == ["default"]
