"""Lab 04.03 tests: attention metadata fields, decode grouping, and end-to-end equivalence to dense."""

from __future__ import annotations

import math

import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

BS, HEADS, KV_HEADS, DIM = 4, 2, 1, 4


def test_hand_worked_metadata():
    """Decode r0 (ctx 6), prefill chunk r1 (3 tokens after 2 cached), decode r2 (ctx 1)."""
    table = torch.tensor([[7, 3], [5, 9], [2, 0]])
    positions = torch.tensor([5, 2, 3, 4, 0])
    md = impl.build_attention_metadata([1, 3, 1], [6, 5, 1], table, positions, BS)
    assert md.slot_mapping.tolist() == [3 * 4 + 1, 5 * 4 + 2, 5 * 4 + 3, 9 * 4 + 0, 2 * 4 + 0]
    (seq,) = md.prefills
    assert (seq.token_start, seq.token_end, seq.context_len) == (1, 4, 5)
    assert seq.block_ids.tolist() == [5, 9]
    rows = sorted(r for g in md.decode_groups for r in g.rows.tolist())
    assert rows == [0, 4]


def test_decode_groups_cover_rows_and_pad_to_their_own_longest():
    """40 decode rows: each in exactly one group; masks mark exactly each row's context."""
    g = torch.Generator().manual_seed(0)
    n = 40
    ctx = torch.randint(1, 60, (n,), generator=g)
    table = torch.randint(1, 100, (n, 15), generator=g)
    rows = torch.arange(100, 100 + n)
    groups = impl.group_decode_rows(rows, table, ctx, BS)
    assert 1 < len(groups) <= 4
    seen = sorted(r for grp in groups for r in grp.rows.tolist())
    assert seen == rows.tolist()
    for grp in groups:
        lens = ctx[grp.rows - 100]
        assert grp.block_table.shape[1] == -(-int(lens.max()) // BS)
        assert torch.equal(grp.mask.reshape(len(lens), -1).sum(-1), lens)
        assert torch.equal(grp.block_table, table[grp.rows - 100, : grp.block_table.shape[1]])
    assert impl.group_decode_rows(rows[:0], table[:0], ctx[:0], BS) == ()


def test_layer_output_equals_dense_with_built_metadata():
    """One mixed step (two decodes with history, one fresh prompt) through Attention == dense attention."""
    g = torch.Generator().manual_seed(1)
    cache = torch.zeros(2, KV_HEADS, 12, BS, DIM)
    tables = {"a": [4, 7], "b": [9, 1, 3], "c": [6, 10]}
    history = {"a": 5, "b": 9, "c": 0}
    new = {"a": 1, "b": 1, "c": 6}
    dense_k, dense_v = {}, {}
    for rid, h in history.items():  # pre-fill the cache with each request's earlier keys/values
        k, v = torch.randn(h, KV_HEADS, DIM, generator=g), torch.randn(h, KV_HEADS, DIM, generator=g)
        dense_k[rid], dense_v[rid] = k, v
        for p in range(h):
            b = tables[rid][p // BS]
            cache[0, :, b, p % BS], cache[1, :, b, p % BS] = k[p], v[p]
    order = ["a", "c", "b"]
    qs, ks, vs, pos = [], [], [], []
    for rid in order:
        n = new[rid]
        q, k, v = (torch.randn(n, hh, DIM, generator=g) for hh in (HEADS, KV_HEADS, KV_HEADS))
        qs.append(q), ks.append(k), vs.append(v)
        dense_k[rid], dense_v[rid] = torch.cat((dense_k[rid], k)), torch.cat((dense_v[rid], v))
        pos.append(torch.arange(history[rid], history[rid] + n))
    table = torch.tensor([tables[r] + [0] * (3 - len(tables[r])) for r in order])
    md = impl.build_attention_metadata([new[r] for r in order], [history[r] + new[r] for r in order], table, torch.cat(pos), BS)
    out = impl.Attention(DIM)(torch.cat(qs), torch.cat(ks), torch.cat(vs), cache, md)
    start = 0
    for rid, q in zip(order, qs):
        n, total = new[rid], history[rid] + new[rid]
        k = dense_k[rid].transpose(0, 1).repeat_interleave(HEADS // KV_HEADS, 0)
        v = dense_v[rid].transpose(0, 1).repeat_interleave(HEADS // KV_HEADS, 0)
        scores = q.transpose(0, 1) @ k.transpose(-1, -2) / math.sqrt(DIM)
        visible = torch.arange(total)[None, :] <= torch.arange(total - n, total)[:, None]
        ref = (torch.softmax(scores.masked_fill(~visible, float("-inf")), -1) @ v).transpose(0, 1)
        torch.testing.assert_close(out[start : start + n], ref, atol=1e-5, rtol=1e-5)
        start += n
