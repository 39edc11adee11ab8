"""Paged attention in plain PyTorch.

Each layer's cache is one tensor ``[2, kv_heads, num_blocks, block_size,
head_dim]`` (keys, then values). A request's KV is scattered over the blocks
its block table names; a token at position ``p`` lives in slot
``table[p // block_size] * block_size + p % block_size``. Heads come before
blocks so that gathering a request's blocks yields, per head, one contiguous
``[tokens, head_dim]`` matrix — the layout attention reads fastest.

A step's flattened batch mixes two kinds of rows, attended differently:
decode rows (one query token) are batched into one padded attention call;
prefill rows (a chunk of several query tokens) are attended one request at a
time, each with its own causal mask offset by the tokens already cached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


# upstream: vllm/v1/worker/workspace.py:31 — WorkspaceManager
class Workspace:
    """Reusable scratch memory for the keys and values gathered out of the cache.

    Every layer of every step gathers megabytes of KV. Fresh tensors that
    large come straight from the operating system, page faults and all;
    reusing one buffer (grown when a larger gather comes along) avoids that.
    One gather's result is dead before the next gather starts, so a single
    pair of buffers serves all of them.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor] = {}

    def take(self, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        """A tensor of ``shape`` backed by the named buffer (contents undefined)."""
        numel = math.prod(shape)
        buf = self._buffers.get(name)
        if buf is None or buf.numel() < numel or buf.dtype != dtype:
            buf = torch.empty(numel, dtype=dtype)
            self._buffers[name] = buf
        return buf[:numel].view(shape)


@dataclass(frozen=True)
class PrefillSeq:
    """One request in the batch that has more than one query token.

    Attributes:
        token_start: First row of its queries in the flattened batch.
        token_end: One past its last query row.
        context_len: Tokens in its KV once this step's keys are written.
        block_ids: Blocks covering ``context_len`` tokens, in order.
    """

    token_start: int
    token_end: int
    context_len: int
    block_ids: torch.Tensor


@dataclass(frozen=True)
class DecodeGroup:
    """Single-token queries attended together, their contexts padded to one length.

    Attributes:
        rows: ``[n]`` their rows in the flattened batch.
        block_table: ``[n, max_blocks]`` their block tables (null-padded).
        mask: ``[n, 1, 1, max_blocks * block_size]``, True on slots that hold
            one of the row's tokens.
    """

    rows: torch.Tensor
    block_table: torch.Tensor
    mask: torch.Tensor


# upstream: vllm/v1/attention/backend.py:353 — CommonAttentionMetadata
@dataclass(frozen=True)
class AttentionMetadata:
    """Where each token's KV goes and what each query may read; shared by all layers.

    Attributes:
        slot_mapping: ``[T]`` cache slot of each token of the batch.
        decode_groups: The single-token rows, grouped by context length.
        prefills: The multi-token rows, one entry per request.
        workspace: Scratch buffers for gathered KV, or None to allocate.
    """

    slot_mapping: torch.Tensor
    decode_groups: tuple[DecodeGroup, ...]
    prefills: tuple[PrefillSeq, ...]
    workspace: Workspace | None = None


# upstream: vllm/v1/worker/block_table.py:141 — BlockTable.compute_slot_mapping()
def compute_slot_mapping(
    block_table: torch.Tensor, req_idx: torch.Tensor, positions: torch.Tensor, block_size: int
) -> torch.Tensor:
    """Cache slot of every token, from its request's table and its position."""
    block_ids = block_table[req_idx, positions // block_size]
    return block_ids * block_size + positions % block_size


# upstream: vllm/v1/attention/backends/cpu_attn.py:171 — CPUAttentionMetadataBuilder.build()
def build_attention_metadata(
    query_lens: list[int],
    context_lens: list[int],
    block_table: torch.Tensor,
    positions: torch.Tensor,
    block_size: int,
    workspace: Workspace | None = None,
) -> AttentionMetadata:
    """Precompute per-step indexing so each layer only does tensor ops.

    Args:
        query_lens: Scheduled tokens per request.
        context_lens: Tokens per request once this step is computed.
        block_table: ``[B, max_blocks]`` block ids, padded with the null block.
        positions: ``[T]`` position of every token of the flattened batch.
        block_size: Tokens per block.
        workspace: Scratch buffers reused across layers and steps.
    """
    qlens = torch.tensor(query_lens)
    req_idx = torch.repeat_interleave(torch.arange(len(query_lens)), qlens)
    starts = torch.cumsum(qlens, 0) - qlens
    prefills = tuple(
        PrefillSeq(
            int(starts[i]),
            int(starts[i]) + query_lens[i],
            context_lens[i],
            block_table[i, : -(-context_lens[i] // block_size)],
        )
        for i in torch.nonzero(qlens > 1).flatten().tolist()
    )
    dec = torch.nonzero(qlens == 1).flatten()
    groups = group_decode_rows(starts[dec], block_table[dec], torch.tensor(context_lens)[dec], block_size)
    return AttentionMetadata(
        slot_mapping=compute_slot_mapping(block_table, req_idx, positions, block_size),
        decode_groups=groups,
        prefills=prefills,
        workspace=workspace,
    )


def group_decode_rows(
    rows: torch.Tensor,
    block_table: torch.Tensor,
    context_lens: torch.Tensor,
    block_size: int,
    rows_per_group: int = 16,
    max_groups: int = 4,
) -> tuple[DecodeGroup, ...]:
    """Split decode rows into a few groups of similar context length.

    Padding every row to the longest context in the batch wastes copying and
    attention work on short rows; sorting by length and padding each group to
    its own longest cuts that waste, at the price of one attention call per
    group.
    """
    if len(rows) == 0:
        return ()
    order = torch.argsort(context_lens)
    n_groups = max(1, min(max_groups, len(rows) // rows_per_group))
    groups = []
    for part in torch.tensor_split(order, n_groups):
        lens = context_lens[part]
        max_blocks = -(-int(lens.max()) // block_size)
        mask = torch.arange(max_blocks * block_size)[None, :] < lens[:, None]
        groups.append(DecodeGroup(rows[part], block_table[part, :max_blocks], mask[:, None, None, :]))
    return tuple(groups)


# upstream: vllm/_custom_ops.py:2569 — reshape_and_cache()
def write_kv(kv_cache: torch.Tensor, key: torch.Tensor, value: torch.Tensor, slots: torch.Tensor) -> None:
    """Scatter this step's keys/values ``[T, kv_heads, D]`` into their slots."""
    _, kv_heads, _, _, head_dim = kv_cache.shape
    kv_cache[0].view(kv_heads, -1, head_dim).index_copy_(1, slots, key.transpose(0, 1))
    kv_cache[1].view(kv_heads, -1, head_dim).index_copy_(1, slots, value.transpose(0, 1))


def gather_kv(
    kv_cache: torch.Tensor, block_ids: torch.Tensor, workspace: Workspace | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Copy whole blocks out of the cache: keys, values ``[kv_heads, ..., n_blocks * block_size, D]``.

    ``index_select`` over the block dimension copies each block of each head
    as one contiguous run, several times faster on the CPU than fancy indexing.
    """
    _, kv_heads, _, block_size, head_dim = kv_cache.shape
    shape = (kv_heads, *block_ids.shape[:-1], block_ids.shape[-1] * block_size, head_dim)
    flat = block_ids.reshape(-1)
    if workspace is None:
        return kv_cache[0].index_select(1, flat).view(shape), kv_cache[1].index_select(1, flat).view(shape)
    raw = (kv_heads, flat.numel(), block_size, head_dim)
    k = torch.index_select(kv_cache[0], 1, flat, out=workspace.take("k", raw, kv_cache.dtype))
    v = torch.index_select(kv_cache[1], 1, flat, out=workspace.take("v", raw, kv_cache.dtype))
    return k.view(shape), v.view(shape)


def decode_attention(
    q: torch.Tensor,
    kv_cache: torch.Tensor,
    group: DecodeGroup,
    scale: float,
    workspace: Workspace | None = None,
) -> torch.Tensor:
    """A group of single-token queries at once: ``q`` ``[n, heads, D]`` → same shape.

    Each row's context is gathered to the group's padded length; the mask
    hides the padding (and whatever the null block holds).
    """
    k, v = gather_kv(kv_cache, group.block_table, workspace)
    out = F.scaled_dot_product_attention(
        q.unsqueeze(2),
        k.transpose(0, 1),
        v.transpose(0, 1),
        attn_mask=group.mask,
        scale=scale,
        enable_gqa=True,
    )
    return out.squeeze(2)


def prefill_attention(
    q: torch.Tensor,
    k_new: torch.Tensor,
    v_new: torch.Tensor,
    kv_cache: torch.Tensor,
    seq: PrefillSeq,
    scale: float,
    workspace: Workspace | None = None,
) -> torch.Tensor:
    """Causal attention for one request's chunk of queries ``[n, heads, D]``.

    A chunk that starts at position 0 reads its own fresh keys; a later
    chunk (or one after a prefix-cache hit) reads the earlier tokens from the
    cache, and query ``i`` sees keys up to position ``offset + i``.
    """
    n = q.shape[0]
    offset = seq.context_len - n
    if offset == 0:
        k, v, mask, causal = k_new.transpose(0, 1), v_new.transpose(0, 1), None, True
    else:
        k, v = gather_kv(kv_cache, seq.block_ids, workspace)
        k, v = k[:, : seq.context_len], v[:, : seq.context_len]
        rows = torch.arange(n)[:, None] + offset
        mask, causal = torch.arange(seq.context_len)[None, :] <= rows, False
    out = F.scaled_dot_product_attention(
        q.transpose(0, 1), k, v, attn_mask=mask, is_causal=causal, scale=scale, enable_gqa=True
    )
    return out.transpose(0, 1)


# upstream: vllm/model_executor/layers/attention/attention.py:177 — Attention
class Attention(nn.Module):
    """Writes a layer's new KV into the paged cache, then attends over it."""

    def __init__(self, head_dim: int) -> None:
        super().__init__()
        self.scale = head_dim**-0.5

    # upstream: vllm/model_executor/layers/attention/attention.py:437 — Attention.forward()
    def forward(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        kv_cache: torch.Tensor,
        md: AttentionMetadata,
    ) -> torch.Tensor:
        """``q`` ``[T, heads, D]``, ``k``/``v`` ``[T, kv_heads, D]`` → ``[T, heads, D]``.

        All writes happen before any read, so a query may read keys that
        another request in the same batch wrote this very layer.
        """
        write_kv(kv_cache, k, v, md.slot_mapping)
        out = torch.empty_like(q)
        for group in md.decode_groups:
            out[group.rows] = decode_attention(q[group.rows], kv_cache, group, self.scale, md.workspace)
        for seq in md.prefills:
            rows = slice(seq.token_start, seq.token_end)
            out[rows] = prefill_attention(q[rows], k[rows], v[rows], kv_cache, seq, self.scale, md.workspace)
        return out
