"""logitloom's logit-processor chains for Python.

The same TOML chains and the same built-in, native (``.so``) and WASM
(``.wasm``) plugins as the ``logitloom`` CLI, applied to any model's logits::

    from logitloom import Chain
    from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessorList

    tok = AutoTokenizer.from_pretrained("models/default")
    model = AutoModelForCausalLM.from_pretrained("models/default")
    chain = Chain.from_toml("configs/conservative.toml", tokenizer=tok)
    ids = tok("public class", return_tensors="pt").input_ids
    out = model.generate(ids, do_sample=False, max_new_tokens=50,
                         logits_processor=LogitsProcessorList([chain.logits_processor(seed=3)]))

Without ``transformers``: ``state = chain.new_sequences([prompt_ids], seed=3)``,
then ``state.step(logits)`` per step, with ``logits`` a ``[batch, vocab]``
float32 numpy array or CPU torch tensor; ``state.take_observations()`` gives
the trace. See ``docs/python.md``.
"""

from ._native import (
    INTERFACE_VERSION,
    Chain,
    ChainConfigError,
    LogitloomError,
    PluginError,
    Sequences,
    plugin_processors,
    token_bytes,
)

#: The name the Rust host uses for a chain that cannot be run; the same class.
ChainError = ChainConfigError

__all__ = [
    "Chain",
    "Sequences",
    "LogitloomError",
    "ChainConfigError",
    "ChainError",
    "PluginError",
    "token_bytes",
    "plugin_processors",
    "INTERFACE_VERSION",
]
