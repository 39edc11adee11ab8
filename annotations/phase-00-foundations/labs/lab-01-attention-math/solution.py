"""Lab 00.01: attention written out in full — scores, causal mask, softmax, GQA.

Every fast attention kernel computes this same function; later labs change *how* it is
computed (tiles, pages, partial results) and use a plain version like this one as the oracle.

Shapes: ``q`` is ``[num_heads, q_len, head_dim]``; ``k`` and ``v`` are
``[num_kv_heads, kv_len, head_dim]``.
"""

from __future__ import annotations

import math

import torch


def causal_mask(q_len: int, kv_len: int) -> torch.Tensor:
    """Boolean ``[q_len, kv_len]``, True where query ``i`` may look at key ``j``.

    The queries are the last ``q_len`` tokens of a ``kv_len``-token sequence: a whole prompt
    (``q_len == kv_len``), a prefill chunk after cached tokens, or a single decode token. The
    mask is therefore aligned to the bottom-right corner, not the top-left.
    """
    offset = kv_len - q_len
    query_pos = torch.arange(q_len).unsqueeze(1) + offset
    key_pos = torch.arange(kv_len).unsqueeze(0)
    return key_pos <= query_pos


def repeat_kv(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """Give every query head its group's key/value head (grouped-query attention).

    GQA stores fewer K/V heads than query heads to shrink the KV cache; query head ``h``
    reads K/V head ``h // group``. Expanding is the simple path; kernels index instead.
    """
    num_kv_heads = x.shape[0]
    if num_heads % num_kv_heads:
        raise ValueError(f"{num_heads} query heads cannot share {num_kv_heads} KV heads evenly")
    return x.repeat_interleave(num_heads // num_kv_heads, dim=0)


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    scale: float | None = None,
    causal: bool = True,
) -> torch.Tensor:
    """Softmax(q kᵀ · scale) v per head, with an optional causal mask.

    Returns:
        ``[num_heads, q_len, head_dim]`` in ``v``'s dtype.
    """
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    k = repeat_kv(k, q.shape[0])
    v = repeat_kv(v, q.shape[0])
    scores = (q @ k.transpose(-1, -2)).float() * scale
    if causal:
        scores = scores.masked_fill(~causal_mask(q.shape[1], k.shape[1]), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return (weights.to(v.dtype)) @ v
