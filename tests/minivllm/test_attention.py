"""Tests for minivllm.attention: paged attention must equal dense causal attention."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from minivllm.attention import (
    Attention,
    AttentionMetadata,
    build_attention_metadata,
    compute_slot_mapping,
    group_decode_rows,
    write_kv,
)

BS, KVH, H, D = 4, 2, 4, 8


def _dense(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Reference: causal attention over one whole sequence ``[L, heads, D]``."""
    out = F.scaled_dot_product_attention(
        q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), is_causal=True, enable_gqa=True
    )
    return out.transpose(0, 1)


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


def test_paged_mixed_batch_equals_dense_per_sequence() -> None:
    """Decode rows, a fresh prefill and a mid-prompt chunk all match dense attention.

    Three sequences live in scattered, non-contiguous blocks; each step's
    query is compared with dense causal attention over the full sequence.
    """
    torch.manual_seed(0)
    lengths = [9, 6, 11]          # full sequence lengths after this step
    qlens = [1, 6, 4]             # decode, fresh prefill, chunk after 7 cached tokens
    tables = [[7, 2, 9], [4, 11], [1, 8, 3]]
    seqs = [(torch.randn(n, H, D), torch.randn(n, KVH, D), torch.randn(n, KVH, D)) for n in lengths]
    cache = torch.zeros(2, KVH, 12, BS, D)
    table = torch.tensor([t + [0] * (3 - len(t)) for t in tables])
    for i, ((_, k, v), n, ql) in enumerate(zip(seqs, lengths, qlens)):
        pos = torch.arange(n - ql)
        write_kv(cache, k[: n - ql], v[: n - ql], compute_slot_mapping(table, torch.full_like(pos, i), pos, BS))
    positions = torch.cat([torch.arange(n - ql, n) for n, ql in zip(lengths, qlens)])
    md = build_attention_metadata(qlens, lengths, table, positions, BS)
    cat = lambda j: torch.cat([s[j][n - ql :] for s, n, ql in zip(seqs, lengths, qlens)])  # noqa: E731
    out = Attention(D)(cat(0), cat(1), cat(2), cache, md)
    expected = torch.cat([_dense(*s)[n - ql :] for s, n, ql in zip(seqs, lengths, qlens)])
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    assert len(md.decode_groups) == 1 and len(md.prefills) == 2


def test_all_decode_batch_masks_padding() -> None:
    """A batch of single-token queries of unequal context lengths matches dense attention."""
    torch.manual_seed(1)
    lengths, tables = [3, 10], [[2], [5, 1, 6]]
    seqs = [(torch.randn(n, H, D), torch.randn(n, KVH, D), torch.randn(n, KVH, D)) for n in lengths]
    # Unwritten slots hold large garbage: only the mask keeps it out of the result.
    cache = torch.full((2, KVH, 8, BS, D), 1e4)
    table = torch.tensor([t + [0] * (3 - len(t)) for t in tables])
    for i, ((_, k, v), n) in enumerate(zip(seqs, lengths)):
        pos = torch.arange(n - 1)
        write_kv(cache, k[:-1], v[:-1], compute_slot_mapping(table, torch.full_like(pos, i), pos, BS))
    md = build_attention_metadata([1, 1], lengths, table, torch.tensor([2, 9]), BS)
    q = torch.stack([s[0][-1] for s in seqs])
    out = Attention(D)(q, torch.stack([s[1][-1] for s in seqs]), torch.stack([s[2][-1] for s in seqs]), cache, md)
    expected = torch.stack([_dense(*s)[-1] for s in seqs])
    assert not md.prefills
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_decode_rows_are_grouped_by_context_length() -> None:
    """Grouping sorts rows by context length and pads each group only to its own longest."""
    lens = torch.tensor([40, 3, 35, 5, 38, 2, 36, 4])
    table = torch.arange(80).view(8, 10)
    groups = group_decode_rows(torch.arange(8), table, lens, BS, rows_per_group=4)
    assert [g.rows.tolist() for g in groups] == [[5, 1, 7, 3], [2, 6, 4, 0]]
    assert [g.block_table.shape[1] for g in groups] == [2, 10]
    assert groups[0].mask[:, 0, 0].sum(-1).tolist() == [2, 3, 4, 5]


def test_grouped_decode_equals_dense() -> None:
    """Many decode rows split over groups still match dense attention row by row."""
    torch.manual_seed(2)
    lengths = [3, 17, 9, 30, 5, 22, 12, 1]
    tables = [list(range(1 + 8 * i, 1 + 8 * i + -(-n // BS))) for i, n in enumerate(lengths)]
    seqs = [(torch.randn(n, H, D), torch.randn(n, KVH, D), torch.randn(n, KVH, D)) for n in lengths]
    cache = torch.zeros(2, KVH, 70, BS, D)
    width = max(map(len, tables))
    table = torch.tensor([t + [0] * (width - len(t)) for t in tables])
    for i, ((_, k, v), n) in enumerate(zip(seqs, lengths)):
        pos = torch.arange(n - 1)
        write_kv(cache, k[:-1], v[:-1], compute_slot_mapping(table, torch.full_like(pos, i), pos, BS))
    positions = torch.tensor([n - 1 for n in lengths])
    md = build_attention_metadata([1] * 8, lengths, table, positions, BS)
    md = AttentionMetadata(md.slot_mapping, group_decode_rows(torch.arange(8), table, torch.tensor(lengths), BS, 2), ())
    last = lambda j: torch.stack([s[j][-1] for s in seqs])  # noqa: E731
    out = Attention(D)(last(0), last(1), last(2), cache, md)
    expected = torch.stack([_dense(*s)[-1] for s in seqs])
    assert len(md.decode_groups) == 4
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
