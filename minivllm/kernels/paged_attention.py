"""Paged attention and the paged KV write, as Triton kernels.

The cache is one tensor per layer, ``[2, kv_heads, num_blocks, block_size,
head_dim]`` (keys, then values), the layout ``minivllm.attention`` uses.
A token at position ``p`` of a request lives in block
``block_table[b, p // block_size]`` at offset ``p % block_size``.

``paged_attention`` is varlen: one launch serves every request of a step,
prefill chunks and decode rows alike. A program owns one request, one KV
head and a tile of that request's query tokens; its tile rows are
``tokens x query heads of the group``, so the keys and values of a KV head
are read once for all the query heads that share them (GQA) instead of
once per query head. Keys are walked in tiles of ``BLOCK_N`` positions
through the block table (a tile may span several cache blocks), with an
online softmax in float32, and never past the last key the tile's
queries may see.

Every bound the kernels read (query starts, context lengths, block ids,
slots) comes from device memory, so the same launch can be recorded in a
CUDA graph and replayed with new contents in those buffers.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl


# upstream: csrc/cache_kernels.cu:244 — reshape_and_cache_kernel
@triton.jit
def _write_kv_kernel(
    k_ptr, v_ptr, cache_ptr, slot_ptr,
    stride_kt, stride_kh, stride_vt, stride_vh,
    stride_c_kv, stride_c_h, stride_c_slot,
    HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr,
):
    """One program per (token, KV head): copy its key and value row into its slot."""
    t = tl.program_id(0)
    h = tl.program_id(1)
    slot = tl.load(slot_ptr + t).to(tl.int64)
    d = tl.arange(0, BLOCK_D)
    ok = (d < HEAD_DIM) & ((slot + d * 0) >= 0)
    k = tl.load(k_ptr + t * stride_kt + h * stride_kh + d, mask=ok)
    v = tl.load(v_ptr + t * stride_vt + h * stride_vh + d, mask=ok)
    dst = cache_ptr + h.to(tl.int64) * stride_c_h + slot * stride_c_slot + d
    tl.store(dst, k, mask=ok)
    tl.store(dst + stride_c_kv, v, mask=ok)


def write_kv(kv_cache: torch.Tensor, key: torch.Tensor, value: torch.Tensor, slots: torch.Tensor) -> None:
    """Scatter ``key``/``value`` ``[T, kv_heads, D]`` into cache slots ``[T]``; negative slots are skipped.

    Skipping negative slots lets padded rows of a replayed CUDA graph run
    the kernel without touching any block.
    """
    _, kv_heads, num_blocks, block_size, head_dim = kv_cache.shape
    if key.stride(-1) != 1 or value.stride(-1) != 1 or kv_cache.stride(-1) != 1:
        raise ValueError("write_kv needs unit stride along head_dim")
    if kv_cache.stride(2) != block_size * kv_cache.stride(3):
        raise ValueError("write_kv needs each head's blocks stored back to back")
    tokens = key.shape[0]
    if tokens == 0:
        return
    _write_kv_kernel[(tokens, kv_heads)](
        key, value, kv_cache, slots,
        key.stride(0), key.stride(1), value.stride(0), value.stride(1),
        kv_cache.stride(0), kv_cache.stride(1), kv_cache.stride(3),
        HEAD_DIM=head_dim, BLOCK_D=triton.next_power_of_2(head_dim),
    )


# upstream: vllm/v1/attention/ops/triton_unified_attention.py:179 — kernel_unified_attention
@triton.jit
def _paged_attention_kernel(
    q_ptr, o_ptr, cache_ptr, table_ptr, cu_q_ptr, seq_len_ptr,
    scale_log2, window,
    stride_qt, stride_qh, stride_ot, stride_oh,
    stride_c_kv, stride_c_h, stride_c_blk, stride_c_slot, stride_tb,
    GROUP: tl.constexpr, GROUP_PAD: tl.constexpr, BLOCK_Q: tl.constexpr,
    BLOCK_N: tl.constexpr, PAGE: tl.constexpr,
    HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr, IEEE: tl.constexpr, HAS_WINDOW: tl.constexpr,
):
    """One program per (request, KV head, query tile): causal attention over the paged keys."""
    b = tl.program_id(0)
    kvh = tl.program_id(1)
    tile = tl.program_id(2)
    q_start = tl.load(cu_q_ptr + b)
    qlen = tl.load(cu_q_ptr + b + 1) - q_start
    ctx = tl.load(seq_len_ptr + b)
    cached = ctx - qlen

    BLOCK_M: tl.constexpr = BLOCK_Q * GROUP_PAD
    r = tl.arange(0, BLOCK_M)
    tok = tile * BLOCK_Q + r // GROUP_PAD
    g = r % GROUP_PAD
    row_ok = (tok < qlen) & (g < GROUP)
    head = kvh * GROUP + g
    d = tl.arange(0, BLOCK_D)
    d_ok = d < HEAD_DIM
    q_rows = (q_start + tok).to(tl.int64)
    q = tl.load(
        q_ptr + q_rows[:, None] * stride_qt + head[:, None] * stride_qh + d[None, :],
        mask=row_ok[:, None] & d_ok[None, :], other=0.0,
    )
    q_pos = cached + tok
    # The tile's last query sees keys up to cached + last_tok - 1; an empty tile reads nothing.
    last_tok = tl.minimum(qlen, (tile + 1) * BLOCK_Q)
    kv_end = tl.where(tile * BLOCK_Q < qlen, cached + last_tok, 0)
    kv_start = 0
    if HAS_WINDOW:
        # The tile's first query looks back over `window` keys, itself included.
        kv_start = tl.maximum(cached + tile * BLOCK_Q - window + 1, 0) // BLOCK_N * BLOCK_N

    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    head_base = cache_ptr + kvh.to(tl.int64) * stride_c_h
    n_off = tl.arange(0, BLOCK_N)
    for start in range(kv_start, kv_end, BLOCK_N):
        n = start + n_off
        n_ok = n < kv_end
        blk = tl.load(table_ptr + b * stride_tb + n // PAGE, mask=n_ok, other=0).to(tl.int64)
        off = blk * stride_c_blk + (n % PAGE) * stride_c_slot
        k = tl.load(head_base + off[None, :] + d[:, None], mask=n_ok[None, :] & d_ok[:, None], other=0.0)
        if IEEE:
            s = tl.dot(q, k, input_precision="ieee")
        else:
            s = tl.dot(q, k)
        s = s * scale_log2
        visible = (n[None, :] <= q_pos[:, None]) & n_ok[None, :]
        if HAS_WINDOW:
            visible = visible & (n[None, :] > q_pos[:, None] - window)
        s = tl.where(visible, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
        p = tl.exp2(s - m_safe[:, None])
        alpha = tl.exp2(m_i - m_safe)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(
            head_base + stride_c_kv + off[:, None] + d[None, :], mask=n_ok[:, None] & d_ok[None, :], other=0.0
        )
        if IEEE:
            pv = tl.dot(p.to(v.dtype), v, input_precision="ieee")
        else:
            pv = tl.dot(p.to(v.dtype), v)
        acc = acc * alpha[:, None] + pv
        m_i = m_new
    out = acc / tl.where(l_i == 0.0, 1.0, l_i)[:, None]
    tl.store(
        o_ptr + q_rows[:, None] * stride_ot + head[:, None] * stride_oh + d[None, :],
        out.to(o_ptr.dtype.element_ty),
        mask=row_ok[:, None] & d_ok[None, :],
    )


def tile_shape(num_heads: int, num_kv_heads: int, max_query_len: int) -> tuple[int, int]:
    """``(GROUP_PAD, BLOCK_Q)``: query heads per KV head (padded) and query tokens per tile.

    A tile has at least 16 rows (the smallest ``tl.dot``); decode-only
    batches use the fewest tokens per tile that reach it, prefill tiles 64 rows.
    """
    group_pad = triton.next_power_of_2(num_heads // num_kv_heads)
    rows = 16 if max_query_len <= 1 else 64
    return group_pad, max(1, rows // group_pad)


def paged_attention(
    q: torch.Tensor,
    kv_cache: torch.Tensor,
    block_table: torch.Tensor,
    cu_seqlens_q: torch.Tensor,
    seq_lens: torch.Tensor,
    max_query_len: int,
    scale: float,
    block_n: int = 64,
    out: torch.Tensor | None = None,
    sliding_window: int | None = None,
) -> torch.Tensor:
    """Varlen causal attention of ``q`` ``[T, heads, D]`` over the paged cache → ``[T, heads, D]``.

    Args:
        q: Queries of every scheduled token, request after request.
        kv_cache: ``[2, kv_heads, num_blocks, block_size, D]``, this step's KV already written.
        block_table: ``[B, W]`` int32 block ids per request (padding never read).
        cu_seqlens_q: ``[B + 1]`` int32 first query row of each request, then ``T``.
        seq_lens: ``[B]`` int32 tokens in each request's KV, this step's included.
        max_query_len: Largest query count of any request (sizes the grid).
        scale: Softmax scale, usually ``D ** -0.5``.
        block_n: Key positions per inner-loop tile.
        out: Where to write (rows of requests with no queries are left as they are).
        sliding_window: A query at ``p`` sees only keys ``k`` with ``p - k < sliding_window``; None for all.
    """
    tokens, num_heads, head_dim = q.shape
    _, kv_heads, _, block_size, _ = kv_cache.shape
    if q.stride(-1) != 1 or kv_cache.stride(-1) != 1:
        raise ValueError("paged_attention needs unit stride along head_dim")
    out = torch.empty_like(q) if out is None else out
    batch = seq_lens.shape[0]
    if tokens == 0 or batch == 0:
        return out
    group_pad, block_q = tile_shape(num_heads, kv_heads, max_query_len)
    grid = (batch, kv_heads, triton.cdiv(max_query_len, block_q))
    _paged_attention_kernel[grid](
        q, out, kv_cache, block_table, cu_seqlens_q, seq_lens,
        scale * 1.4426950408889634, sliding_window or 0,
        q.stride(0), q.stride(1), out.stride(0), out.stride(1),
        kv_cache.stride(0), kv_cache.stride(1), kv_cache.stride(2), kv_cache.stride(3),
        block_table.stride(0),
        GROUP=num_heads // kv_heads, GROUP_PAD=group_pad, BLOCK_Q=block_q,
        BLOCK_N=block_n, PAGE=block_size,
        HEAD_DIM=head_dim, BLOCK_D=max(16, triton.next_power_of_2(head_dim)),
        IEEE=q.dtype == torch.float32, HAS_WINDOW=sliding_window is not None,
        num_warps=4,
    )
    return out
