"""Paged attention in plain PyTorch, reading the block cache in place.

Each layer's cache is one tensor ``[2, kv_heads, num_blocks, block_size,
head_dim]`` (keys, then values). A request's KV is scattered over the blocks
its block table names; a token at position ``p`` lives in slot
``table[p // block_size] * block_size + p % block_size``.

A step's flattened batch mixes prefill chunks and decode tokens of many
requests, described varlen-style (``query_start_loc``, ``seq_lens``, block
table) as the GPU kernels expect. One :func:`paged_attention` call per layer
attends all of them: the queries are cut into *tiles* (one decode token, or up
to ``PREFILL_TILE`` consecutive queries of one request), and the keys are
read a chunk of blocks at a time straight from the block table, each chunk
attended by one fused kernel call and the chunks merged by log-sum-exp (as a
split-KV kernel does). There is no per-request workspace: on the CPU a chunk
read is still a gather of at most ``KEY_CHUNK`` keys per tile, but it touches
only the blocks the tiles still reading need, so the work grows with the
tokens actually read, and the loop runs over key chunks, never over requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

PREFILL_TILE = 32  # queries of one request attended together
KEY_CHUNK = 512  # keys read per fused attention call (rounded to whole blocks), merged by log-sum-exp
MASKED = -1e30  # finite, so a chunk masked for a whole row cannot make NaN


# upstream: vllm/v1/worker/workspace.py:31 — WorkspaceManager
class Workspace:
    """Reusable scratch memory for the key/value chunks read out of the cache.

    One chunk's copy is dead before the next is read, so one pair of
    buffers (grown when a larger chunk comes along) serves every chunk of
    every layer of every step, with no fresh allocation each time.
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
class KeyChunk:
    """One step of the online softmax: a run of block-table columns for the leading tiles.

    Attributes:
        num_tiles: Tiles still reading keys here (tiles are sorted longest first).
        block_ids: ``[num_tiles, blocks]`` the blocks to read, per tile.
        bias: ``[num_tiles, 1, q_tile, blocks * block_size]``: 0 where the
            query may see the key, ``MASKED`` elsewhere.
    """

    num_tiles: int
    block_ids: torch.Tensor
    bias: torch.Tensor
    _masks: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class TilePlan:
    """How one kind of query tile (decode or prefill) walks the cache.

    Attributes:
        q_tile: Queries per tile.
        rows: ``[num_tiles * q_tile]`` batch row of each tile slot; a tile
            shorter than ``q_tile`` repeats its last row.
        chunks: Key chunks in position order.
    """

    q_tile: int
    rows: torch.Tensor
    chunks: tuple[KeyChunk, ...]


# upstream: vllm/v1/attention/backend.py:353 — CommonAttentionMetadata
@dataclass(frozen=True)
class AttentionMetadata:
    """Where each token's KV goes and what each query may read; shared by all layers.

    Attributes:
        slot_mapping: ``[T]`` cache slot of each token of the batch.
        query_start_loc: ``[B + 1]`` request ``b`` owns rows
            ``query_start_loc[b]:query_start_loc[b + 1]``.
        seq_lens: ``[B]`` tokens in request ``b``'s KV once this step's are written.
        block_table: ``[B, max_blocks]`` block ids, padded with the null block 0.
        max_query_len: Longest query run in the batch.
        max_seq_len: Longest context in the batch.
        workspace: Scratch buffers for key chunks, or None to allocate.
    """

    slot_mapping: torch.Tensor
    query_start_loc: torch.Tensor
    seq_lens: torch.Tensor
    block_table: torch.Tensor
    max_query_len: int
    max_seq_len: int
    workspace: Workspace | None = None
    _plans: dict = field(default_factory=dict, repr=False, compare=False)

    def plans(self, block_size: int, sliding_window: int | None) -> tuple[TilePlan, ...]:
        """The CPU tiling, built on first use and reused by every layer of the step."""
        key = (block_size, sliding_window)
        if key not in self._plans:
            self._plans[key] = plan_tiles(self, block_size, sliding_window)
        return self._plans[key]


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
    """Describe the step's batch once, so each layer only does tensor ops.

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
    query_start_loc = F.pad(torch.cumsum(qlens, 0), (1, 0)).to(torch.int32)
    return AttentionMetadata(
        slot_mapping=compute_slot_mapping(block_table, req_idx, positions, block_size),
        query_start_loc=query_start_loc,
        seq_lens=torch.tensor(context_lens, dtype=torch.int32),
        block_table=block_table.to(torch.int32),
        max_query_len=max(query_lens),
        max_seq_len=max(context_lens),
        workspace=workspace,
    )


def plan_tiles(md: AttentionMetadata, block_size: int, sliding_window: int | None) -> tuple[TilePlan, ...]:
    """Cut the batch into decode tiles (one query) and prefill tiles (``PREFILL_TILE`` queries).

    Two tile sizes, so a decode token never pays for a prefill tile's
    padding; both run inside the same :func:`paged_attention` call.
    """
    qlens = (md.query_start_loc[1:] - md.query_start_loc[:-1]).long()
    plans = []
    for q_tile, reqs in ((1, qlens == 1), (PREFILL_TILE, qlens > 1)):
        reqs = torch.nonzero(reqs).flatten()
        if len(reqs):
            plans.append(tile_plan(md, qlens, reqs, q_tile, block_size, sliding_window))
    return tuple(plans)


def tile_plan(
    md: AttentionMetadata,
    qlens: torch.Tensor,
    reqs: torch.Tensor,
    q_tile: int,
    block_size: int,
    window: int | None,
) -> TilePlan:
    """Tiles of ``reqs``, sorted by the keys they read (longest first), and their key chunks."""
    per_req = -(-qlens[reqs] // q_tile)
    tile_req = torch.repeat_interleave(reqs, per_req)
    first = torch.repeat_interleave(torch.cumsum(per_req, 0) - per_req, per_req)
    start = md.query_start_loc[tile_req].long() + (torch.arange(len(tile_req)) - first) * q_tile
    last = md.query_start_loc[tile_req + 1].long() - 1
    rows = torch.minimum(start[:, None] + torch.arange(q_tile), last[:, None])
    pos = rows - last[:, None] + md.seq_lens[tile_req].long()[:, None] - 1
    num_keys = pos[:, -1] + 1
    order = torch.argsort(num_keys, descending=True, stable=True)
    rows, pos, num_keys, tile_req = rows[order], pos[order], num_keys[order], tile_req[order]
    first_key = 0 if window is None else int((pos[:, 0] - window + 1).clamp(min=0).min())
    return TilePlan(q_tile, rows.flatten(), key_chunks(md.block_table.long()[tile_req], pos, num_keys, block_size, first_key, window))


def key_chunks(
    table: torch.Tensor,
    pos: torch.Tensor,
    num_keys: torch.Tensor,
    block_size: int,
    first_key: int,
    window: int | None,
) -> tuple[KeyChunk, ...]:
    """Key chunks from ``first_key`` to the longest tile's last key, each narrowed to live tiles."""
    per_chunk = max(1, KEY_CHUNK // block_size)
    longest = int(num_keys[0])
    chunks = []
    for col in range(first_key // block_size // per_chunk * per_chunk, -(-longest // block_size), per_chunk):
        lo = col * block_size
        n = int((num_keys > lo).sum())
        width = min(per_chunk, -(-(longest - lo) // block_size))
        key_pos = lo + torch.arange(width * block_size)
        seen = key_pos <= pos[:n, :, None]
        if window is not None:
            seen &= key_pos > pos[:n, :, None] - window
        bias = torch.zeros(seen.shape).masked_fill_(~seen, MASKED)
        chunks.append(KeyChunk(n, table[:n, col : col + width], bias[:, None]))
    return tuple(chunks)


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


# upstream: vllm/v1/attention/ops/triton_unified_attention.py:763 — unified_attention()
def paged_attention(
    q: torch.Tensor,
    kv_cache: torch.Tensor,
    md: AttentionMetadata,
    scale: float,
    sliding_window: int | None = None,
) -> torch.Tensor:
    """Causal (optionally windowed) GQA attention of every query row over the paged cache.

    ``q`` ``[T, heads, D]`` → ``[T, heads, D]``. A query at position ``p``
    sees keys at positions ``k <= p`` with ``p - k < sliding_window``. This
    step's keys must already be in the cache.
    """
    if q.is_cuda:
        from minivllm.kernels.paged_attention import paged_attention as kernel

        return kernel(
            q, kv_cache, md.block_table, md.query_start_loc, md.seq_lens, md.max_query_len, scale,
            sliding_window=sliding_window,
        )  # fmt: skip
    out = torch.empty_like(q)
    for plan in md.plans(kv_cache.shape[3], sliding_window):
        out.index_copy_(0, plan.rows, attend_tiles(q, kv_cache, plan, scale, md.workspace))
    return out


def attend_tiles(
    q: torch.Tensor, kv_cache: torch.Tensor, plan: TilePlan, scale: float, workspace: Workspace | None = None
) -> torch.Tensor:
    """One tile plan: attend each key chunk with a fused kernel, merge the chunks by log-sum-exp.

    Queries are laid out ``[kv_heads, tiles, group * q_tile, D]`` so every
    query head of a KV group meets the same gathered keys: GQA without
    repeating K or V. A plan with a single chunk needs no merge at all.
    """
    heads, dim = q.shape[1:]
    kv_heads = kv_cache.shape[1]
    group, q_tile = heads // kv_heads, plan.q_tile
    tiles = len(plan.rows) // q_tile
    qt = q[plan.rows].view(tiles, q_tile, kv_heads, group, dim)
    qt = qt.permute(2, 0, 3, 1, 4).reshape(kv_heads, tiles, group * q_tile, dim)
    if len(plan.chunks) == 1:
        (chunk,) = plan.chunks
        k, v = gather_kv(kv_cache, chunk.block_ids, workspace)
        acc = F.scaled_dot_product_attention(qt, k, v, attn_mask=_group_mask(chunk, group, q.dtype), scale=scale)
    else:
        acc = torch.zeros_like(qt)
        lse = torch.full(qt.shape[:-1], float("-inf"))
        for chunk in plan.chunks:
            n = chunk.num_tiles
            k, v = gather_kv(kv_cache, chunk.block_ids, workspace)
            part, part_lse = attend_chunk(qt[:, :n], k, v, _group_mask(chunk, group, q.dtype), scale)
            merge_chunk(acc[:, :n], lse[:, :n], part, part_lse)
    out = acc.view(kv_heads, tiles, group, q_tile, dim).permute(1, 3, 0, 2, 4)
    return out.reshape(tiles * q_tile, heads, dim)


def _group_mask(chunk: KeyChunk, group: int, dtype: torch.dtype) -> torch.Tensor:
    """The chunk's ``[tiles, 1, q_tile, C]`` bias as ``[1, tiles, group * q_tile, C]`` (one row per query head).

    Built on first use and reused by every layer of the step, like the plans.
    """
    key = (group, dtype)
    if key not in chunk._masks:
        n, _, q_tile, width = chunk.bias.shape
        chunk._masks[key] = chunk.bias.expand(n, group, q_tile, width).reshape(1, n, group * q_tile, width).to(dtype)
    return chunk._masks[key]


def attend_chunk(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention over one key chunk and each query row's log-sum-exp (to merge chunks later).

    The CPU flash-attention kernel returns both in one fused pass; where it
    is missing the scores are materialised instead.
    """
    fused = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if fused is not None and q.device.type == "cpu":
        out, lse = fused(q, k, v, 0.0, False, attn_mask=mask, scale=scale)[:2]
        return out, lse.float()
    scores = torch.matmul(q.float(), k.float().transpose(-1, -2)) * scale + mask.float()
    lse = torch.logsumexp(scores, dim=-1)
    return torch.matmul(torch.exp(scores - lse[..., None]), v.float()).to(q.dtype), lse


# upstream: vllm/v1/attention/ops/merge_attn_states.py:9 — merge_attn_states()
def merge_chunk(acc: torch.Tensor, lse: torch.Tensor, part: torch.Tensor, part_lse: torch.Tensor) -> None:
    """Fold one chunk's output ``[..., q, D]`` and log-sum-exp ``[..., q]`` into the running pair, in place.

    Each side is weighted by ``exp(its lse - merged lse)``, so the result
    equals one softmax over every chunk seen so far.
    """
    merged = torch.logaddexp(lse, part_lse)
    acc.mul_(torch.exp(lse - merged)[..., None].to(acc.dtype))
    acc.add_(part * torch.exp(part_lse - merged)[..., None].to(acc.dtype))
    lse.copy_(merged)


def paged_attention_reference(
    q: torch.Tensor,
    kv_cache: torch.Tensor,
    md: AttentionMetadata,
    scale: float,
    sliding_window: int | None = None,
) -> torch.Tensor:
    """The oracle: each request's whole context gathered, then one dense masked attention.

    Slow (a Python loop over requests, a full copy of each context) and
    obviously right; tests hold :func:`paged_attention` to it.
    """
    out = torch.empty_like(q)
    block_size = kv_cache.shape[3]
    starts = md.query_start_loc.tolist()
    for b, seq_len in enumerate(md.seq_lens.tolist()):
        lo, hi = starts[b], starts[b + 1]
        k, v = gather_kv(kv_cache, md.block_table[b, : -(-seq_len // block_size)].long())
        q_pos = torch.arange(seq_len - (hi - lo), seq_len)[:, None]
        key_pos = torch.arange(seq_len)[None, :]
        seen = key_pos <= q_pos
        if sliding_window is not None:
            seen &= key_pos > q_pos - sliding_window
        res = F.scaled_dot_product_attention(
            q[lo:hi].transpose(0, 1), k[:, :seq_len], v[:, :seq_len], attn_mask=seen, scale=scale, enable_gqa=True
        )
        out[lo:hi] = res.transpose(0, 1)
    return out


# upstream: vllm/model_executor/layers/attention/attention.py:177 — Attention
class Attention(nn.Module):
    """Writes a layer's new KV into the paged cache, then attends over it.

    Args:
        head_dim: Size of each head (sets the softmax scale).
        sliding_window: Keys a query may look back over (itself included), or None.
    """

    def __init__(self, head_dim: int, sliding_window: int | None = None) -> None:
        super().__init__()
        self.scale = head_dim**-0.5
        self.sliding_window = sliding_window

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
        return paged_attention(q, kv_cache, md, self.scale, self.sliding_window)
