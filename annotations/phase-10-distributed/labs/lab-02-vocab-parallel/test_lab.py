"""Lab 10.02 tests: vocabulary-parallel embedding and logits equal their dense versions."""

from __future__ import annotations

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

VOCAB, HIDDEN = 37, 6


def table(seed: int = 0) -> torch.Tensor:
    """A dense [VOCAB, HIDDEN] float64 table."""
    return torch.randn(VOCAB, HIDDEN, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("world", [1, 2, 3, 8])
def test_ranges_cover_vocab_once(world: int):
    """Rank ranges are contiguous, in order, cover every id once, and are at most the padded size."""
    ranges = [impl.shard_range(VOCAB, r, world) for r in range(world)]
    covered = [i for start, end in ranges for i in range(start, end)]
    assert covered == list(range(VOCAB))
    per = impl.padded_vocab(VOCAB, world) // world
    assert all(end - start <= per for start, end in ranges)


@pytest.mark.parametrize("world", [1, 2, 3, 4, 8])
def test_parallel_embedding_equals_dense(world: int):
    """The masked per-rank lookups summed by an all-reduce equal table[ids]."""
    t = table()
    ids = torch.tensor([[0, 5, 36], [12, 12, 20]])
    torch.testing.assert_close(impl.parallel_embedding(ids, t, world), t[ids])


def test_rank_contributes_zero_for_foreign_ids():
    """embed_shard returns zero rows for every id outside the rank's range."""
    t = table(1)
    start, end = impl.shard_range(VOCAB, 1, 2)
    ids = torch.arange(VOCAB)
    part = impl.embed_shard(ids, t[start:end], start, end)
    foreign = (ids < start) | (ids >= end)
    assert torch.equal(part[foreign], torch.zeros(int(foreign.sum()), HIDDEN, dtype=torch.float64))
    torch.testing.assert_close(part[~foreign], t[start:end])


@pytest.mark.parametrize("world", [1, 2, 3, 8])
def test_parallel_logits_equal_dense(world: int):
    """All-gathered per-rank logits, padding dropped, equal hidden @ lm_head.T."""
    head = table(2)
    hidden = torch.randn(4, HIDDEN, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    logits = impl.parallel_logits(hidden, head, world)
    assert logits.shape == (4, VOCAB)
    torch.testing.assert_close(logits, hidden @ head.T)
