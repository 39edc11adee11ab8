"""Lab 07.02: lay out (token, expert) pairs so every GEMM tile belongs to one expert.

A fused MoE kernel multiplies tiles of ``block_size`` rows by one expert's weights. It can only
do that if the rows of each tile were all routed to the same expert. So before the kernel runs,
the flattened (token, slot) pairs are sorted by expert and each expert's run is padded with a
sentinel up to a multiple of ``block_size``; a parallel array says which expert owns each tile.
The kernel then needs no branching: tile ``b`` loads the rows listed in its slice, skips
sentinels, and multiplies by expert ``expert_ids[b]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from torch.nn import functional as F


@dataclass(frozen=True)
class Alignment:
    """The schedule a blocked MoE kernel follows.

    Attributes:
        sorted_token_ids: ``[num_tokens_post_padded]`` flat pair indices (``token * top_k +
            slot``) grouped by expert; padding entries hold the sentinel ``T * top_k``.
        expert_ids: ``[num_tokens_post_padded // block_size]`` expert of each tile.
        num_tokens_post_padded: Length after padding every expert to a multiple of the tile.
    """

    sorted_token_ids: torch.Tensor
    expert_ids: torch.Tensor
    num_tokens_post_padded: int


def moe_align_block_size(topk_ids: torch.Tensor, block_size: int, num_experts: int) -> Alignment:
    """Group the pairs of ``topk_ids`` ``[T, top_k]`` by expert, padded to ``block_size``."""
    flat = topk_ids.flatten()
    sentinel = flat.numel()
    counts = torch.bincount(flat, minlength=num_experts)
    padded = (counts + block_size - 1) // block_size * block_size
    sorted_ids = torch.full((int(padded.sum()),), sentinel, dtype=torch.int64)
    expert_ids = torch.repeat_interleave(torch.arange(num_experts), padded // block_size)
    start = 0
    for expert in range(num_experts):
        pairs = torch.nonzero(flat == expert).flatten()
        sorted_ids[start : start + len(pairs)] = pairs
        start += int(padded[expert])
    return Alignment(sorted_ids, expert_ids, int(padded.sum()))


def expert_mlp(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """One expert's SwiGLU feed-forward (``w1`` stacks gate and up)."""
    gate, up = (x @ w1.T).chunk(2, dim=-1)
    return (F.silu(gate) * up) @ w2.T


def blocked_moe(
    x: torch.Tensor,
    weights: torch.Tensor,
    topk_ids: torch.Tensor,
    w1: torch.Tensor,
    w2: torch.Tensor,
    block_size: int,
) -> torch.Tensor:
    """The MoE layer computed tile by tile from the alignment, as the fused kernel does."""
    top_k = topk_ids.shape[1]
    align = moe_align_block_size(topk_ids, block_size, w1.shape[0])
    flat_weights = weights.flatten().to(x.dtype)
    out = torch.zeros_like(x)
    for b, expert in enumerate(align.expert_ids.tolist()):
        tile = align.sorted_token_ids[b * block_size : (b + 1) * block_size]
        pairs = tile[tile < topk_ids.numel()]
        if len(pairs) == 0:
            continue
        rows = pairs // top_k
        y = expert_mlp(x[rows], w1[expert], w2[expert])
        out.index_add_(0, rows, y * flat_weights[pairs, None])
    return out
