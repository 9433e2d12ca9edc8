"""Type stubs for the compiled part of logitloom (PyO3)."""

import os
from typing import Any, Dict, List, Optional, Sequence, Union

from .hf import LogitsProcessor

INTERFACE_VERSION: str

class LogitloomError(Exception): ...

class ChainConfigError(LogitloomError):
    origin: Optional[str]
    line: Optional[int]
    stage: Optional[int]
    plugin: Optional[str]

class PluginError(LogitloomError):
    sequence: int
    stage: Optional[int]
    plugin: Optional[str]
    source: Optional[str]
    step: Optional[int]
    failure: str

class Chain:
    @staticmethod
    def from_toml(
        source: Union[str, "os.PathLike[str]"],
        tokenizer: Any = None,
        *,
        eos_token_id: Optional[int] = None,
        wasm_deadline_ms: int = 100,
        wasm_memory_limit_bytes: int = 268435456,
        module_cache_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
        check_logits: bool = True,
    ) -> "Chain": ...
    @property
    def stage_labels(self) -> List[str]: ...
    @property
    def needs_token_bytes(self) -> bool: ...
    @property
    def may_rewind(self) -> bool: ...
    @property
    def origin(self) -> str: ...
    @property
    def eos_token_id(self) -> Optional[int]: ...
    def new_sequences(
        self,
        prompts_token_ids: Any,
        seed: int = 0,
        *,
        seeds: Optional[Sequence[int]] = None,
        eos_token_id: Optional[int] = None,
        stop_at_eos: bool = True,
        vocab_size: Optional[int] = None,
    ) -> "Sequences": ...
    def logits_processor(
        self,
        seed: int = 0,
        *,
        eos_token_id: Optional[int] = None,
        pad_token_id: Optional[int] = None,
        stop_at_eos: bool = True,
        inplace: bool = False,
    ) -> LogitsProcessor: ...

class Sequences:
    def step(self, logits: Any, *, inplace: bool = False) -> List[int]: ...
    @property
    def tokens(self) -> List[List[int]]: ...
    @property
    def finished(self) -> List[bool]: ...
    @property
    def rewinds(self) -> List[Dict[str, int]]: ...
    @property
    def seeds(self) -> List[int]: ...
    @property
    def eos_token_id(self) -> int: ...
    def take_observations(self) -> List[Dict[str, Any]]: ...
    def stage_times(self) -> Dict[str, float]: ...
    def __len__(self) -> int: ...

def token_bytes(tokenizer: Any) -> List[bytes]: ...
def plugin_processors(path: Optional[Union[str, "os.PathLike[str]"]] = None) -> List[Dict[str, Any]]: ...
