"""The oracle for the Triton kernels: the same contract written in plain PyTorch.

Slow (a Python loop over requests) and obviously right: gather each request's
blocks, cut to its context, attend with a causal mask offset by the tokens
already cached. Runs on any device, so the GPU tests compare like with like.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def write_kv_ref(kv_cache: torch.Tensor, key: torch.Tensor, value: torch.Tensor, slots: torch.Tensor) -> None:
    """Scatter ``key``/``value`` ``[T, kv_heads, D]`` into their slots; a negative slot is skipped."""
    _, kv_heads, _, _, head_dim = kv_cache.shape
    keep = slots >= 0
    idx = slots[keep]
    kv_cache[0].view(kv_heads, -1, head_dim)[:, idx] = key[keep].transpose(0, 1).to(kv_cache.dtype)
    kv_cache[1].view(kv_heads, -1, head_dim)[:, idx] = value[keep].transpose(0, 1).to(kv_cache.dtype)


def paged_attention_ref(
    q: torch.Tensor,
    kv_cache: torch.Tensor,
    block_table: torch.Tensor,
    cu_seqlens_q: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: float,
    sliding_window: int | None = None,
) -> torch.Tensor:
    """Varlen causal attention over the paged cache, computed in float32.

    Request ``b`` owns query rows ``cu_seqlens_q[b]:cu_seqlens_q[b + 1]``;
    its last query sits at position ``seq_lens[b] - 1`` and query ``i`` sees
    keys ``0 .. seq_lens[b] - n + i`` (the last ``sliding_window`` of them,
    if given). Rows of requests with no queries are zero.
    """
    _, kv_heads, _, block_size, head_dim = kv_cache.shape
    out = torch.zeros_like(q)
    cu, lens = cu_seqlens_q.tolist(), seq_lens.tolist()
    for b, ctx in enumerate(lens):
        start, end = cu[b], cu[b + 1]
        n = end - start
        if n == 0:
            continue
        nb = -(-ctx // block_size)
        ids = block_table[b, :nb].long()
        k = kv_cache[0][:, ids].reshape(kv_heads, nb * block_size, head_dim)[:, :ctx].float()
        v = kv_cache[1][:, ids].reshape(kv_heads, nb * block_size, head_dim)[:, :ctx].float()
        rows = torch.arange(n, device=q.device)[:, None] + (ctx - n)
        keys = torch.arange(ctx, device=q.device)[None, :]
        mask = keys <= rows
        if sliding_window is not None:
            mask &= keys > rows - sliding_window
        o = F.scaled_dot_product_attention(
            q[start:end].transpose(0, 1).float(), k, v, attn_mask=mask, scale=scale, enable_gqa=True
        )
        out[start:end] = o.transpose(0, 1).to(q.dtype)
    return out
