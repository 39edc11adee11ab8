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
    assert md.query_start_loc.tolist() == [0, 1, 4, 5]
    assert md.query_start_loc.dtype == torch.int32 and md.seq_lens.dtype == torch.int32
    assert md.seq_lens.tolist() == [6, 5, 1]
    assert md.block_table.tolist() == table.tolist()
    assert (md.max_query_len, md.max_seq_len) == (3, 6)


def _decode_tiles(lengths):
    """Decode tiles sorted longest first: (table, pos [n, 1], num_keys)."""
    lens = torch.tensor(sorted(lengths, reverse=True))
    width = -(-int(lens[0]) // BS)
    table = torch.arange(1, 1 + len(lens) * width).view(len(lens), width)
    return table, (lens - 1)[:, None], lens


def test_chunks_read_only_what_the_tiles_need(monkeypatch):
    """One block per chunk: chunk j is read by the tiles longer than j blocks, from their own columns."""
    monkeypatch.setattr(impl, "KEY_CHUNK", BS)
    table, pos, num_keys = _decode_tiles([13, 2, 7, 5])
    chunks = impl.key_chunks(table, pos, num_keys, BS, 0, None)
    assert [c.num_tiles for c in chunks] == [4, 3, 1, 1]
    assert sum(c.block_ids.numel() for c in chunks) == sum(-(-int(n) // BS) for n in num_keys)
    for j, c in enumerate(chunks):
        assert c.block_ids.tolist() == table[: c.num_tiles, j : j + 1].tolist()


def test_last_chunk_narrows_and_windows_skip_early_chunks(monkeypatch):
    """A padded table is not read past the longest tile's blocks; a window starts at its first visible chunk."""
    monkeypatch.setattr(impl, "KEY_CHUNK", 4 * BS)
    table = torch.arange(1, 9)[None, :]  # 8 columns, the tile needs 2
    (chunk,) = impl.key_chunks(table, torch.tensor([[5]]), torch.tensor([6]), BS, 0, None)
    assert chunk.block_ids.tolist() == [[1, 2]]
    monkeypatch.setattr(impl, "KEY_CHUNK", BS)
    table, pos, num_keys = _decode_tiles([40, 33])
    chunks = impl.key_chunks(table, pos, num_keys, BS, 29, 4)
    assert len(chunks) == 3 and chunks[0].block_ids.tolist() == table[:, 7:8].tolist()


def test_chunk_masks_are_exactly_causal_and_windowed(monkeypatch):
    """Over all chunks, each query sees exactly keys p - window < k <= p, each once; the last chunk is narrowed."""
    monkeypatch.setattr(impl, "KEY_CHUNK", 2 * BS)
    g = torch.Generator().manual_seed(3)
    for window in (None, 3, 6):
        lens = sorted(torch.randint(1, 30, (6,), generator=g).tolist(), reverse=True)
        table, pos, num_keys = _decode_tiles(lens)
        first = 0 if window is None else int((pos[:, 0] - window + 1).clamp(min=0).min())
        chunks = impl.key_chunks(table, pos, num_keys, BS, first, window)
        seen = torch.zeros(len(lens), 40, dtype=torch.int64)
        lo = first // (2 * BS) * 2 * BS
        for c in chunks:
            width = c.bias.shape[-1]
            assert c.bias.shape == (c.num_tiles, 1, 1, width) and width == c.block_ids.shape[1] * BS
            seen[: c.num_tiles, lo : lo + width] += (c.bias[:, 0, 0] == 0).long()
            lo += width
        key = torch.arange(40)[None, :]
        want = key <= pos
        if window is not None:
            want &= key > pos - window
        assert torch.equal(seen, want.long()), window
        assert chunks[-1].block_ids.shape[1] * BS + (len(chunks) - 1) * 2 * BS + first // (2 * BS) * 2 * BS >= lens[0]


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
