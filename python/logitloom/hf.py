"""The Hugging Face ``generate`` adapter: :class:`LogitsProcessor`."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ._native import Chain, Sequences


class LogitsProcessor:
    """Runs a logitloom chain inside ``model.generate``.

    Made by :meth:`logitloom.Chain.logits_processor`; pass it as
    ``model.generate(..., logits_processor=LogitsProcessorList([it]))``.

    At every step the chain (its final sampler included) picks one token per
    sequence from the scores ``generate`` hands over, and the processor
    returns scores with that token at 0.0 and every other at ``-inf``. So:

    * **greedy** (``do_sample=False``) emits exactly the chain's choice;
    * **sampling** (``do_sample=True``) also emits exactly the chain's
      choice: a distribution with one finite entry samples that entry, and
      ``generate``'s own warpers (temperature, top-k, top-p), which run after
      custom processors, keep it. The randomness is the chain's, seeded by
      ``seed`` (sequence ``i`` uses ``seed + i``), not torch's;
    * **beam search** is not supported: beams are reordered between steps,
      which would hand one beam's chain state to another. The processor
      notices the reorder and raises ``RuntimeError``;
    * **rewinds**: ``generate`` cannot take tokens back. A stage that asks
      for a rewind is refused (the host records the refusal in the trace)
      and decoding goes on forward.

    ``generate``'s own processors that are not warpers (``repetition_penalty=``,
    ``no_repeat_ngram_size=``, ``min_new_tokens=``, ...) run *before* the
    chain and change the scores it sees; leave them unset to get the
    chain's behaviour alone.

    With ``inplace=True`` the processor works on ``generate``'s scores
    tensor itself when it is float32 on the CPU with contiguous rows: the
    chain edits the rows where they are and the processor overwrites them
    with the one-finite-entry mask (``fill_(-inf)`` + ``scatter_``), so a
    step copies and allocates nothing (``docs/python.md``, "Speed"). The
    scores ``generate`` hands a processor are its own float32 copy of the
    model's logits, but that copy is also what ``output_logits=True``
    returns as the raw logits: do not combine the two. The default copies.

    The processor keeps per-sequence state between calls. A call whose
    ``input_ids`` extend the previous call's by one token continues the
    same sequences (the appended tokens must be the chain's choices); any
    other call starts new sequences from ``input_ids`` as prompts, so one
    processor serves consecutive ``generate`` calls. :meth:`reset` forces a
    fresh start. With ``pad_token_id``, left padding is dropped from each
    prompt before the chain sees it. Traces: :attr:`sequences` (the
    current :class:`logitloom.Sequences`) and :meth:`take_observations`.
    """

    def __init__(
        self,
        chain: "Chain",
        seed: int = 0,
        *,
        eos_token_id: Optional[int] = None,
        pad_token_id: Optional[int] = None,
        stop_at_eos: bool = True,
        inplace: bool = False,
    ) -> None:
        self.chain = chain
        self.seed = seed
        self.eos_token_id = eos_token_id
        self.pad_token_id = pad_token_id
        self.stop_at_eos = stop_at_eos
        self.inplace = inplace
        self.reset()

    def reset(self) -> None:
        """Forget the current sequences; the next call starts new ones."""
        self._state: Optional["Sequences"] = None
        self._prev = None
        self._chosen: List[int] = []
        self._check: List[bool] = []

    @property
    def sequences(self) -> Optional["Sequences"]:
        """The sequences of the current (or last) ``generate`` call."""
        return self._state

    def take_observations(self) -> list:
        """The current sequences' observations since the last call (see :meth:`logitloom.Sequences.take_observations`)."""
        return [] if self._state is None else self._state.take_observations()

    def _prompts(self, input_ids: "torch.Tensor") -> List[List[int]]:
        rows = input_ids.tolist()
        if self.pad_token_id is None:
            return rows
        pad = self.pad_token_id
        out = []
        for row in rows:
            start = 0
            while start < len(row) and row[start] == pad:
                start += 1
            out.append(row[start:])
        return out

    def __call__(self, input_ids: "torch.Tensor", scores: "torch.Tensor") -> "torch.Tensor":
        import torch

        prev = self._prev
        continuing = (
            self._state is not None
            and prev is not None
            and input_ids.shape[0] == prev.shape[0]
            and input_ids.shape[1] == prev.shape[1] + 1
        )
        if continuing:
            if not torch.equal(input_ids[:, :-1], prev):
                raise RuntimeError(
                    "logitloom: input_ids were reordered between steps (beam search?); a chain keeps per-sequence "
                    "state and cannot follow beams. Use num_beams=1, or call reset() if this is a new generate call."
                )
            appended = input_ids[:, -1].tolist()
            for i, (got, want, check) in enumerate(zip(appended, self._chosen, self._check)):
                if check and got != want:
                    raise RuntimeError(
                        f"logitloom: sequence {i}: generate appended token {got} where the chain chose {want}; "
                        "a processor after the chain changed the choice"
                    )
        else:
            self._state = self.chain.new_sequences(
                self._prompts(input_ids),
                self.seed,
                eos_token_id=self.eos_token_id,
                stop_at_eos=self.stop_at_eos,
            )
        state = self._state
        self._check = [not f for f in state.finished]
        in_place = (
            self.inplace
            and scores.dtype == torch.float32
            and scores.device.type == "cpu"
            and scores.dim() == 2
            and scores.stride(1) == 1
        )
        if in_place:
            chosen = state.step(scores, inplace=True)
            out = scores.fill_(float("-inf"))
        else:
            chosen = state.step(scores)
            out = torch.full_like(scores, float("-inf"))
        self._prev = input_ids
        self._chosen = chosen
        index = torch.tensor(chosen, dtype=torch.long, device=scores.device).unsqueeze(1)
        return out.scatter_(1, index, 0.0)
