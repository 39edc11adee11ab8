"""Compile each constrained request's grammar and build each step's token masks."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from minivllm.structured_output.backend_types import StructuredOutputBackend
from minivllm.structured_output.request import StructuredOutputRequest
from minivllm.tokenizer import Tokenizer


# upstream: vllm/v1/structured_output/__init__.py:36 — StructuredOutputManager
class StructuredOutputManager:
    """Owns the grammar backend (created on first use) for one engine.

    Args:
        tokenizer: The engine's tokenizer.
        vocab_size: The model's vocabulary size.
    """

    def __init__(self, tokenizer: Tokenizer, vocab_size: int) -> None:
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size
        self._backend: StructuredOutputBackend | None = None

    @property
    def backend(self) -> StructuredOutputBackend:
        """The xgrammar backend, imported and built the first time it is needed."""
        if self._backend is None:
            from minivllm.structured_output.backend_xgrammar import XgrammarBackend

            self._backend = XgrammarBackend(self.tokenizer, self.vocab_size)
        return self._backend

    # upstream: vllm/v1/structured_output/__init__.py:115 — StructuredOutputManager.grammar_init()
    def grammar_init(self, so_request: StructuredOutputRequest) -> None:
        """Compile the request's constraint into a fresh matcher.

        Raises:
            ValueError: For a constraint the backend cannot compile (reported
                when the request is added, not in the middle of a step), or
                a tokenizer without an end-of-sequence token: a completed
                grammar allows only that token, so without one the mask
                would end up empty.
        """
        if self.tokenizer.eos_token_id is None:
            raise ValueError("structured output needs a tokenizer with an end-of-sequence token")
        so_request.grammar = self.backend.compile_grammar(*so_request.key)

    # upstream: vllm/v1/structured_output/__init__.py:204 — StructuredOutputManager.grammar_bitmask()
    def grammar_bitmask(
        self, rows: Sequence[tuple[StructuredOutputRequest | None, Sequence[int]]]
    ) -> torch.Tensor | None:
        """Masks for every sampling position of a step.

        Args:
            rows: Per sampling request, in batch order: its constraint state
                (None when unconstrained) and the drafts scheduled for it.
                A request with ``k`` drafts samples at ``k + 1`` positions,
                the ``j``-th after its first ``j`` drafts.

        Returns:
            ``[sum(k + 1), ceil(V / 32)]`` packed masks (all bits set for
            unconstrained or finished rows), or None when no request of the
            step is constrained.
        """
        if all(so is None for so, _ in rows):
            return None
        bitmask = self.backend.allocate_token_bitmask(sum(len(d) + 1 for _, d in rows))
        start = 0
        for so, drafts in rows:
            if so is not None and so.grammar is not None:
                self._fill_with_lookahead(so, drafts, bitmask, start)
            start += len(drafts) + 1
        return bitmask

    def _fill_with_lookahead(
        self, so: StructuredOutputRequest, drafts: Sequence[int], bitmask: torch.Tensor, start: int
    ) -> None:
        """Fill one row per position, advancing through the drafts, then step back.

        A draft the grammar refuses stops the advance: its own row already
        forbids it, so the rejection sampler can never accept it, and later
        rows are never used.
        """
        grammar = so.grammar
        assert grammar is not None
        advanced = 0
        for j in range(len(drafts) + 1):
            if grammar.is_terminated():
                break
            grammar.fill_bitmask(bitmask, start + j)
            if j < len(drafts) and advanced == j and grammar.accept_tokens("", [drafts[j]]):
                advanced += 1
        if advanced:
            grammar.rollback(advanced)
