"""Per-step token → adapter mapping, shared by every LoRA layer of the model."""

from __future__ import annotations

import torch

from minivllm.lora.ops import sgmv_expand, sgmv_shrink

NO_LORA = -1
"""Slot index of tokens that run the base model only."""


# upstream: vllm/lora/punica_wrapper/punica_base.py:124 — PunicaWrapperBase
class PunicaWrapper:
    """Sorts the step's tokens by adapter slot once; every layer reuses the order.

    The model runner calls ``update_metadata`` before each forward pass; the
    LoRA layers then call ``add_lora_linear``. Tokens without an adapter are
    left out of the order entirely, so a batch with no adapters pays nothing.
    """

    def __init__(self) -> None:
        self.order = torch.empty(0, dtype=torch.long)
        self.seg_lens: list[int] = []
        self.seg_slots: list[int] = []

    # upstream: vllm/lora/punica_wrapper/punica_base.py:284 — PunicaWrapperBase.update_metadata()
    def update_metadata(self, token_slots: torch.Tensor) -> None:
        """Record ``[T]`` slot per token (``NO_LORA`` for base-only tokens)."""
        slots, order = torch.sort(token_slots, stable=True)
        keep = slots != NO_LORA
        self.order = order[keep]
        uniq, counts = torch.unique_consecutive(slots[keep], return_counts=True)
        self.seg_slots = uniq.tolist()
        self.seg_lens = counts.tolist()

    @property
    def has_lora_tokens(self) -> bool:
        """Whether any token of the step runs an adapter."""
        return bool(self.seg_lens)

    # upstream: vllm/lora/punica_wrapper/punica_base.py:385 — PunicaWrapperBase.add_lora_linear()
    def add_lora_linear(
        self, y: torch.Tensor, x: torch.Tensor, lora_a_stacked: torch.Tensor, lora_b_stacked: torch.Tensor
    ) -> torch.Tensor:
        """``y[t] += B[slot(t)] A[slot(t)] x[t]`` for every adapted token, in place."""
        if not self.has_lora_tokens:
            return y
        x_sorted = x.index_select(0, self.order)
        h = sgmv_shrink(x_sorted, lora_a_stacked, self.seg_lens, self.seg_slots)
        delta = sgmv_expand(h, lora_b_stacked, self.seg_lens, self.seg_slots)
        return y.index_add_(0, self.order, delta.to(y.dtype))
