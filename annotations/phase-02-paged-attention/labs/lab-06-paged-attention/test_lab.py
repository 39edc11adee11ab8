"""Lab 02.06 tests: the oracle and the streamed paged attention equal dense attention per request."""

from __future__ import annotations

import math

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

BS, BLOCKS, HEADS, KV_HEADS, DIM = 4, 24, 4, 2, 8


def qkv(n: int, g: torch.Generator):
    """Random queries [n, HEADS, DIM] and keys/values [n, KV_HEADS, DIM]."""
    return (
        torch.randn(n, HEADS, DIM, generator=g),
        torch.randn(n, KV_HEADS, DIM, generator=g),
        torch.randn(n, KV_HEADS, DIM, generator=g),
    )


class PagedRun:
    """Drives impl.Attention over a garbage-filled paged cache, keeping each request's dense history."""

    def __init__(self, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.cache = torch.randn(2, KV_HEADS, BLOCKS, BS, DIM, generator=g) * 50
        self.free = (torch.randperm(BLOCKS - 1, generator=g) + 1).tolist()  # block 0 is the null block
        self.tables: dict[str, list[int]] = {}
        self.hist: dict[str, list[list[torch.Tensor]]] = {}
        self.attn = impl.Attention(DIM)

    def step(self, work: list[tuple[str, tuple[torch.Tensor, ...]]]) -> dict[str, torch.Tensor]:
        """One forward step: per request its new (q, k, v); returns per request its outputs."""
        positions, ctx = [], []
        for rid, (q, k, v) in work:
            hist = self.hist.setdefault(rid, [[], [], []])
            start, n = len(hist[1]), len(q)
            for store, x in zip(hist, (q, k, v)):
                store.extend(x)
            table = self.tables.setdefault(rid, [])
            while len(table) * BS < start + n:
                table.append(self.free.pop())
            positions.append(torch.arange(start, start + n))
            ctx.append(start + n)
        width = max(len(self.tables[rid]) for rid, _ in work)
        table = torch.tensor([self.tables[rid] + [0] * (width - len(self.tables[rid])) for rid, _ in work])
        lens = [len(t[0]) for _, t in work]
        md = impl.build_attention_metadata(lens, ctx, table, torch.cat(positions), BS)
        q, k, v = (torch.cat([t[i] for _, t in work]) for i in range(3))
        out = self.attn(q, k, v, self.cache, md)
        ends = torch.tensor(lens).cumsum(0).tolist()
        return {rid: out[end - n : end] for (rid, _), end, n in zip(work, ends, lens)}

    def dense(self, rid: str, n: int, window: int | None = None) -> torch.Tensor:
        """Dense causal GQA attention of the request's last n queries over its whole history."""
        q_hist, k_hist, v_hist = self.hist[rid]
        q = torch.stack(q_hist[-n:]).transpose(0, 1)
        group = HEADS // KV_HEADS
        k = torch.stack(k_hist).transpose(0, 1).repeat_interleave(group, 0)
        v = torch.stack(v_hist).transpose(0, 1).repeat_interleave(group, 0)
        total = k.shape[1]
        scores = q @ k.transpose(-1, -2) / math.sqrt(DIM)
        q_pos = torch.arange(total - n, total)[:, None]
        visible = torch.arange(total)[None, :] <= q_pos
        if window is not None:
            visible &= torch.arange(total)[None, :] > q_pos - window
        return (torch.softmax(scores.masked_fill(~visible, float("-inf")), -1) @ v).transpose(0, 1)


def test_mixed_schedule_equals_dense():
    """Prefill, then decodes + a second chunk + a new prompt, then decodes: all equal dense attention."""
    run = PagedRun()
    g = torch.Generator().manual_seed(1)
    schedule = [
        [("a", 6), ("b", 3)],
        [("a", 1), ("b", 5), ("c", 7)],
        [("a", 1), ("b", 1), ("c", 1)],
        [("c", 1), ("a", 1)],
    ]
    for plan in schedule:
        outs = run.step([(rid, qkv(n, g)) for rid, n in plan])
        for rid, n in plan:
            torch.testing.assert_close(outs[rid], run.dense(rid, n), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("chunk", [1, 3, 5])
def test_chunked_prefill_equals_whole_prefill(chunk: int):
    """Prefilling 11 tokens in chunks gives the same per-token outputs as one whole prefill."""
    q, k, v = qkv(11, torch.Generator().manual_seed(2))
    expected = PagedRun(seed=3).step([("p", (q, k, v))])["p"]
    run = PagedRun(seed=4)
    got = [
        run.step([("p", (q[s : s + chunk], k[s : s + chunk], v[s : s + chunk]))])["p"]
        for s in range(0, 11, chunk)
    ]
    torch.testing.assert_close(torch.cat(got), expected, atol=1e-5, rtol=1e-5)


def _random_step(seed: int):
    """A random mixed batch already written to a garbage-filled cache: (q, cache, metadata, dense outputs)."""
    g = torch.Generator().manual_seed(seed)
    run = PagedRun(seed)
    n_req = int(torch.randint(2, 5, (1,), generator=g))
    work = []
    for r in range(n_req):
        total = int(torch.randint(2, 20, (1,), generator=g))
        new = int(torch.randint(2, total + 1, (1,), generator=g)) if r % 2 else 1  # odd: a multi-query chunk
        if total > new:
            run.step([(f"r{r}", qkv(total - new, g))])
        work.append((f"r{r}", qkv(new, g)))
    return run, work


@pytest.mark.parametrize("window", [None, 3])
def test_reference_equals_dense(window):
    """paged_attention_reference over a mixed batch equals dense attention (windowed too)."""
    run, work = _random_step(5)
    positions, ctx, lens = [], [], []
    for rid, (q, k, v) in work:
        start = len(run.hist[rid][1]) if rid in run.hist else 0
        positions.append(torch.arange(start, start + len(q)))
        ctx.append(start + len(q))
        lens.append(len(q))
    outs = run.step(work)  # writes this step's keys; checks the streamed path as a side effect
    width = max(len(run.tables[rid]) for rid, _ in work)
    table = torch.tensor([run.tables[rid] + [0] * (width - len(run.tables[rid])) for rid, _ in work])
    md = impl.build_attention_metadata(lens, ctx, table, torch.cat(positions), BS)
    q = torch.cat([t[0] for _, t in work])
    got = impl.paged_attention_reference(q, run.cache, md, 1 / math.sqrt(DIM), window)
    start = 0
    for (rid, _), n in zip(work, lens):
        want = run.dense(rid, n, window)
        torch.testing.assert_close(got[start : start + n], want, atol=1e-5, rtol=1e-5)
        if window is None:
            torch.testing.assert_close(outs[rid], want, atol=1e-5, rtol=1e-5)
        start += n


@pytest.mark.parametrize("seed", range(4))
def test_streamed_path_over_many_chunks_equals_dense(seed, monkeypatch):
    """Tiny key chunks and prefill tiles force many online-softmax steps; outputs still equal dense."""
    monkeypatch.setattr(impl, "KEY_CHUNK", BS)
    monkeypatch.setattr(impl, "PREFILL_TILE", 2)
    run, work = _random_step(10 + seed)
    outs = run.step(work)
    for rid, (q, _, _) in work:
        torch.testing.assert_close(outs[rid], run.dense(rid, len(q)), atol=1e-5, rtol=1e-5)
