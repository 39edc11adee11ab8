"""Lab 04.02: attention over disjoint key sets, merged exactly by log-sum-exp.

If attention over keys ``A`` gives output ``o_a`` and log-sum-exp ``lse_a`` (the log of the
softmax denominator), and likewise for keys ``B``, then attention over ``A ∪ B`` is the two
outputs weighted by their share of the total mass. This is how a kernel splits one long
sequence across many programs, how cascade attention computes a shared prefix once for many
requests, and how chunked prefill combines "attend to the cache" with "attend to the new tokens".

Shapes: ``q`` ``[heads, q_len, dim]``; ``k``, ``v`` ``[heads, kv_len, dim]``;
``lse`` ``[heads, q_len]``.
"""

from __future__ import annotations

import math

import torch


def attention_with_lse(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention output and the log-sum-exp of each query row's scores.

    Args:
        mask: Optional boolean ``[q_len, kv_len]``, True where the key is visible.

    Returns:
        ``(output, lse)``; rows that see no key get output 0 and lse ``-inf``.
    """
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-1, -2)) * scale
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    lse = torch.logsumexp(scores, dim=-1)
    safe = torch.where(torch.isinf(lse), torch.zeros_like(lse), lse)
    weights = torch.exp(scores - safe.unsqueeze(-1))
    return weights @ v, lse


def merge_attn_states(
    out_a: torch.Tensor, lse_a: torch.Tensor, out_b: torch.Tensor, lse_b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Combine two partial attentions over disjoint key sets into one.

    Returns:
        ``(output, lse)`` equal to attention over both key sets at once.
    """
    lse = torch.logaddexp(lse_a, lse_b)
    safe = torch.where(torch.isinf(lse), torch.zeros_like(lse), lse)
    w_a = torch.exp(lse_a - safe).unsqueeze(-1)
    w_b = torch.exp(lse_b - safe).unsqueeze(-1)
    return out_a * w_a + out_b * w_b, lse
