"""Lab 07.01: route tokens to their top-k experts, then run each expert once.

A mixture-of-experts layer has many feed-forward "experts"; a router picks ``k`` of them per
token and mixes their outputs by the router's weights. Computing that token by token is simple
and hopeless on hardware: each expert's weights would be read once per token. Grouping all the
tokens routed to an expert into one matrix turns the work into one GEMM per expert — the shape
fused MoE kernels compute.

Shapes: ``x`` ``[T, hidden]``; ``w1`` ``[E, 2 * inter, hidden]`` (gate and up stacked);
``w2`` ``[E, hidden, inter]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def topk_routing(
    router_logits: torch.Tensor, top_k: int, renormalize: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each token's ``top_k`` experts and their mixing weights.

    Returns:
        ``(weights, ids)``: float32 ``[T, top_k]`` and int64 ``[T, top_k]``, best expert first.
    """
    probs = torch.softmax(router_logits.float(), dim=-1)
    weights, ids = torch.topk(probs, top_k, dim=-1)
    if renormalize:
        weights = weights / weights.sum(dim=-1, keepdim=True)
    return weights, ids


def expert_mlp(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """One expert's SwiGLU feed-forward on the rows routed to it."""
    gate, up = (x @ w1.T).chunk(2, dim=-1)
    return (F.silu(gate) * up) @ w2.T


def grouped_moe(
    x: torch.Tensor,
    weights: torch.Tensor,
    ids: torch.Tensor,
    w1: torch.Tensor,
    w2: torch.Tensor,
) -> torch.Tensor:
    """The MoE layer's output with one :func:`expert_mlp` call per expert that has tokens."""
    num_tokens, top_k = ids.shape
    flat_ids = ids.flatten()
    token_of_pair = torch.arange(num_tokens).repeat_interleave(top_k)
    flat_weights = weights.flatten().to(x.dtype)
    out = torch.zeros_like(x)
    for expert in torch.unique(flat_ids).tolist():
        pairs = torch.nonzero(flat_ids == expert).flatten()
        rows = token_of_pair[pairs]
        y = expert_mlp(x[rows], w1[expert], w2[expert])
        out.index_add_(0, rows, y * flat_weights[pairs, None])
    return out
