"""The attention layer the model runs on a CUDA device: two Triton launches per layer.

The model runner swaps each decoder layer's ``Attention`` module for this
one when the engine runs on CUDA, and hands every layer a ``PagedMetadata``
instead of the CPU path's metadata; the rest of the model is the same code
on both devices.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


# upstream: vllm/v1/attention/backends/triton_attn.py:59 — TritonAttentionMetadata
@dataclass(frozen=True)
class PagedMetadata:
    """Everything the varlen kernels read, as device tensors (shared by all layers of a step).

    Attributes:
        slot_mapping: ``[T]`` int64 cache slot of each token (-1: write nothing).
        block_table: ``[B, W]`` int32 block ids of each request.
        query_start_loc: ``[B + 1]`` int32 first query row of each request, then ``T``.
        seq_lens: ``[B]`` int32 tokens in each request's KV once this step is written.
        max_query_len: Most query tokens of any request (1 for a pure decode step).
    """

    slot_mapping: torch.Tensor
    block_table: torch.Tensor
    query_start_loc: torch.Tensor
    seq_lens: torch.Tensor
    max_query_len: int


# upstream: vllm/v1/attention/backends/triton_attn.py:396 — TritonAttentionImpl
class TritonAttention(nn.Module):
    """Write this step's keys and values into the paged cache, then attend over it."""

    def __init__(self, head_dim: int, sliding_window: int | None = None) -> None:
        super().__init__()
        self.scale = head_dim**-0.5
        self.sliding_window = sliding_window

    def forward(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        kv_cache: torch.Tensor,
        md: PagedMetadata,
    ) -> torch.Tensor:
        """``q`` ``[T, heads, D]``, ``k``/``v`` ``[T, kv_heads, D]`` → ``[T, heads, D]``."""
        from minivllm.kernels.paged_attention import paged_attention, write_kv

        write_kv(kv_cache, k, v, md.slot_mapping)
        return paged_attention(
            q, kv_cache, md.block_table, md.query_start_loc, md.seq_lens, md.max_query_len, self.scale,
            sliding_window=self.sliding_window,
        )


def use_triton_attention(model: nn.Module, head_dim: int, sliding_window: int | None = None) -> int:
    """Swap every ``Attention`` submodule of ``model`` for a ``TritonAttention``; return how many."""
    from minivllm.attention import Attention

    swapped = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, Attention):
                setattr(module, name, TritonAttention(head_dim, sliding_window))
                swapped += 1
    return swapped
