"""Tests for minivllm.attention: paged attention must equal dense causal attention."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import minivllm.attention as attention
from minivllm.attention import (
    Attention,
    build_attention_metadata,
    compute_slot_mapping,
    gather_kv,
    merge_chunk,
    paged_attention,
    paged_attention_reference,
    write_kv,
)

BS, KVH, H, D = 4, 2, 4, 8


def _dense(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int | None = None) -> torch.Tensor:
    """Reference: causal (optionally windowed) attention over one whole sequence ``[L, heads, D]``."""
    n = q.shape[0]
    pos = torch.arange(n)
    seen = pos[None, :] <= pos[:, None]
    if window is not None:
        seen &= pos[None, :] > pos[:, None] - window
    out = F.scaled_dot_product_attention(
        q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), attn_mask=seen, enable_gqa=True
    )
    return out.transpose(0, 1)


def _scene(lengths, qlens, num_blocks=80, seed=0, garbage=1e4):
    """Sequences in scrambled blocks of a garbage-filled cache, all but their last ``qlens`` tokens cached."""
    g = torch.Generator().manual_seed(seed)
    seqs = [tuple(torch.randn(n, h, D, generator=g) for h in (H, KVH, KVH)) for n in lengths]
    cache = torch.full((2, KVH, num_blocks, BS, D), garbage)
    free = (torch.randperm(num_blocks - 1, generator=g) + 1).tolist()
    tables = [[free.pop() for _ in range(-(-n // BS))] for n in lengths]
    width = max(map(len, tables))
    table = torch.tensor([t + [0] * (width - len(t)) for t in tables])
    for i, ((_, k, v), n, ql) in enumerate(zip(seqs, lengths, qlens)):
        pos = torch.arange(n - ql)
        write_kv(cache, k[: n - ql], v[: n - ql], compute_slot_mapping(table, torch.full_like(pos, i), pos, BS))
    positions = torch.cat([torch.arange(n - ql, n) for n, ql in zip(lengths, qlens)])
    md = build_attention_metadata(list(qlens), list(lengths), table, positions, BS)
    new = [torch.cat([s[j][n - ql :] for s, n, ql in zip(seqs, lengths, qlens)]) for j in range(3)]
    return seqs, cache, md, new


def _expected(seqs, lengths, qlens, window=None):
    return torch.cat([_dense(*s, window)[n - ql :] for s, n, ql in zip(seqs, lengths, qlens)])


def test_slot_mapping_follows_block_table() -> None:
    """Token at position p goes to table[p // bs] * bs + p % bs."""
    table = torch.tensor([[5, 2, 0], [7, 0, 0]])
    slots = compute_slot_mapping(table, torch.tensor([0, 0, 0, 1]), torch.tensor([0, 3, 4, 1]), BS)
    assert slots.tolist() == [20, 23, 8, 29]


def test_write_kv_places_keys_and_values_in_their_slots() -> None:
    """write_kv stores each token's key/value at its slot and nowhere else."""
    cache = torch.zeros(2, KVH, 4, BS, D)
    k, v = torch.randn(2, KVH, D), torch.randn(2, KVH, D)
    write_kv(cache, k, v, torch.tensor([5, 14]))
    torch.testing.assert_close(cache[0, :, 1, 1], k[0])
    torch.testing.assert_close(cache[1, :, 3, 2], v[1])
    assert int((cache != 0).any(dim=-1).any(dim=1).sum()) == 4


def test_metadata_is_varlen() -> None:
    """query_start_loc is the cumulative query count; seq_lens and maxima are the step's."""
    table = torch.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
    md = build_attention_metadata([1, 3, 5], [6, 3, 11], table, torch.tensor([5, 0, 1, 2, 6, 7, 8, 9, 10]), BS)
    assert md.query_start_loc.tolist() == [0, 1, 4, 9]
    assert md.seq_lens.tolist() == [6, 3, 11]
    assert (md.max_query_len, md.max_seq_len) == (5, 11)
    assert md.slot_mapping.tolist()[:2] == [2 * BS + 1, 3 * BS]


@pytest.mark.parametrize("window", [None, 3, 6])
def test_mixed_batch_equals_dense_per_sequence(window: int | None) -> None:
    """Decodes, a fresh prefill and mid-prompt chunks in one call all match dense attention."""
    lengths, qlens = [9, 6, 11, 40, 23, 1], [1, 6, 4, 37, 1, 1]
    seqs, cache, md, (q, k, v) = _scene(lengths, qlens)
    out = Attention(D, window)(q, k, v, cache, md)
    torch.testing.assert_close(out, _expected(seqs, lengths, qlens, window), rtol=1e-5, atol=1e-5)


def test_reference_oracle_equals_dense() -> None:
    """The per-request oracle itself matches dense attention, so it can judge the fast path."""
    lengths, qlens = [9, 17, 5], [1, 7, 5]
    seqs, cache, md, (q, k, v) = _scene(lengths, qlens, seed=3)
    write_kv(cache, k, v, md.slot_mapping)
    out = paged_attention_reference(q, cache, md, D**-0.5, None)
    torch.testing.assert_close(out, _expected(seqs, lengths, qlens), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", range(6))
def test_random_batches_equal_the_oracle(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random lengths, long contexts over many key chunks, small tiles: paged == oracle."""
    monkeypatch.setattr(attention, "KEY_CHUNK", 8)
    monkeypatch.setattr(attention, "PREFILL_TILE", 5)
    g = torch.Generator().manual_seed(seed)
    n = int(torch.randint(1, 9, (1,), generator=g))
    lengths = torch.randint(1, 70, (n,), generator=g).tolist()
    qlens = [int(torch.randint(1, ln + 1, (1,), generator=g)) if seed % 2 else 1 for ln in lengths]
    window = [None, 5, 17][seed % 3]
    _, cache, md, (q, k, v) = _scene(lengths, qlens, num_blocks=200, seed=seed)
    write_kv(cache, k, v, md.slot_mapping)
    want = paged_attention_reference(q, cache, md, 0.3, window)
    torch.testing.assert_close(paged_attention(q, cache, md, 0.3, window), want, rtol=1e-5, atol=1e-5)


def test_decode_reads_only_the_blocks_each_row_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key chunks narrow to the tiles still reading: blocks read == blocks the contexts hold (chunk-rounded)."""
    monkeypatch.setattr(attention, "KEY_CHUNK", BS)
    lengths = [40, 3, 12, 8]
    _, _, md, _ = _scene(lengths, [1] * 4)
    (plan,) = md.plans(BS, None)
    read = sum(chunk.block_ids.numel() for chunk in plan.chunks)
    assert read == sum(-(-n // BS) for n in lengths)
    assert [c.num_tiles for c in plan.chunks][:3] == [4, 3, 2]


def test_window_skips_chunks_before_every_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sliding window starts reading at the earliest key any tile can still see."""
    monkeypatch.setattr(attention, "KEY_CHUNK", BS)
    _, _, md, _ = _scene([40, 33], [1, 1])
    (plan,) = md.plans(BS, 4)
    assert plan.chunks[0].block_ids.shape[1] == 1 and len(plan.chunks) == 10 - (32 - 3) // BS


def test_gather_kv_returns_tokens_in_table_order() -> None:
    """gather_kv copies whole blocks, per head, in the order the table lists them."""
    cache = torch.arange(2 * KVH * 6 * BS * D, dtype=torch.float32).view(2, KVH, 6, BS, D)
    k, v = gather_kv(cache, torch.tensor([[4, 1], [2, 2]]))
    assert k.shape == (KVH, 2, 2 * BS, D)
    torch.testing.assert_close(k[1, 0, BS:], cache[0, 1, 1])
    torch.testing.assert_close(v[0, 1, :BS], cache[1, 0, 2])


def test_merging_chunks_equals_one_softmax() -> None:
    """Folding chunk outputs by log-sum-exp (one chunk fully masked for a row) gives softmax(all) @ v."""
    torch.manual_seed(4)
    scores, v = torch.randn(3, 20), torch.randn(20, 5)
    scores[1, :8] = attention.MASKED
    acc, lse = torch.zeros(3, 5), torch.full((3,), float("-inf"))
    for lo in range(0, 20, 8):
        part_lse = torch.logsumexp(scores[:, lo : lo + 8], -1)
        part = torch.softmax(scores[:, lo : lo + 8], -1) @ v[lo : lo + 8]
        merge_chunk(acc, lse, part, part_lse)
    torch.testing.assert_close(acc, torch.softmax(scores, -1) @ v)
    torch.testing.assert_close(lse, torch.logsumexp(scores, -1))


def test_unfused_chunk_path_equals_the_fused_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the fused CPU kernel, attend_chunk's fallback gives the same output and log-sum-exp."""
    torch.manual_seed(5)
    q, k, v = torch.randn(2, 3, 6, D), torch.randn(2, 3, 10, D), torch.randn(2, 3, 10, D)
    mask = torch.zeros(1, 3, 6, 10).masked_fill_(torch.rand(1, 3, 6, 10) < 0.3, attention.MASKED)
    want = attention.attend_chunk(q, k, v, mask, 0.3)
    monkeypatch.setattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None, raising=False)
    got = attention.attend_chunk(q, k, v, mask, 0.3)
    torch.testing.assert_close(got[0], want[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got[1], want[1], rtol=1e-5, atol=1e-5)


def test_metadata_plans_are_built_once_per_step() -> None:
    """Every layer reuses the step's tiling (same object), keyed by window."""
    _, _, md, _ = _scene([9, 6], [1, 6])
    assert md.plans(BS, None) is md.plans(BS, None)
    assert md.plans(BS, 4) is not md.plans(BS, None)
    assert [p.q_tile for p in md.plans(BS, None)] == [1, attention.PREFILL_TILE]
