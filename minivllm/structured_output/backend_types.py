"""What a grammar backend must offer the engine."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch


# upstream: vllm/v1/structured_output/backend_types.py:19 — StructuredOutputOptions
class StructuredOutputOptions(enum.Enum):
    """The kinds of constraint a request may carry."""

    JSON = enum.auto()
    JSON_OBJECT = enum.auto()
    REGEX = enum.auto()
    GRAMMAR = enum.auto()
    CHOICE = enum.auto()


StructuredOutputKey = tuple[StructuredOutputOptions, str]
"""A constraint in canonical text form; equal keys share one compiled grammar."""


# upstream: vllm/v1/structured_output/backend_types.py:31 — StructuredOutputGrammar
class StructuredOutputGrammar(ABC):
    """One request's position in its grammar."""

    @abstractmethod
    def accept_tokens(self, request_id: str, tokens: Sequence[int]) -> bool:
        """Advance by ``tokens``; False (and no further advance) at the first illegal one."""

    @abstractmethod
    def validate_tokens(self, tokens: Sequence[int]) -> list[int]:
        """The longest legal prefix of ``tokens``, without advancing."""

    @abstractmethod
    def rollback(self, num_tokens: int) -> None:
        """Undo the last ``num_tokens`` accepted tokens."""

    @abstractmethod
    def fill_bitmask(self, bitmask: torch.Tensor, index: int) -> None:
        """Write row ``index`` of a packed ``[rows, ceil(V / 32)]`` int32 mask."""

    @abstractmethod
    def is_terminated(self) -> bool:
        """Whether the output is complete (the stop token was accepted)."""


# upstream: vllm/v1/structured_output/backend_types.py:99 — StructuredOutputBackend
class StructuredOutputBackend(ABC):
    """Compiles constraints against one tokenizer's vocabulary."""

    @abstractmethod
    def compile_grammar(self, kind: StructuredOutputOptions, spec: str) -> StructuredOutputGrammar:
        """A fresh matcher for the constraint (compilation may be cached)."""

    @abstractmethod
    def allocate_token_bitmask(self, rows: int) -> torch.Tensor:
        """A packed mask with every token allowed in every row."""
