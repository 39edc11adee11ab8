"""Lab 02.02 tests: block pool reference counts, lazy LRU eviction and the prefix-cache map."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from annotator.labs import load_impl

impl = load_impl(__file__)


def hashes(*names: str) -> SimpleNamespace:
    """A stand-in request whose i-th full block has hash names[i] (bytes)."""
    return SimpleNamespace(block_hashes=[n.encode() for n in names])


def queued_ids(pool) -> list[int]:
    """Ids in the free queue, front (next to be reused) first."""
    return [b.block_id for b in pool.free_block_queue.get_all_free_blocks()]


def test_allocation_counts_and_refusal():
    """New blocks are distinct with ref 1; asking for too many raises and changes nothing."""
    pool = impl.BlockPool(6)
    blocks = pool.get_new_blocks(3)
    assert [b.ref_cnt for b in blocks] == [1, 1, 1]
    assert len({b.block_id for b in blocks}) == 3 and 0 not in {b.block_id for b in blocks}
    assert pool.get_num_free_blocks() == 2
    with pytest.raises(ValueError):
        pool.get_new_blocks(3)
    assert pool.get_num_free_blocks() == 2 and queued_ids(pool) == [4, 5]


def test_freed_blocks_keep_hash_and_can_be_touched_back():
    """A freed cached block stays findable; touch() takes it off the queue with ref 1."""
    pool = impl.BlockPool(6)
    a, b = pool.get_new_blocks(2)
    pool.cache_full_blocks(hashes("h0", "h1"), [a, b], 0, 2)
    pool.free_blocks([b, a])
    assert queued_ids(pool)[-2:] == [b.block_id, a.block_id]
    assert pool.get_cached_block(b"h0") is a and a.block_hash == b"h0"
    pool.touch([a])
    assert a.ref_cnt == 1 and a.block_id not in queued_ids(pool)
    pool.touch([a])
    assert a.ref_cnt == 2


def test_eviction_is_lazy_and_least_recently_freed_first():
    """Reusing the pool evicts the first-freed cached block first; the later one stays a hit."""
    pool = impl.BlockPool(4)  # 3 usable blocks
    x, y, z = pool.get_new_blocks(3)
    pool.cache_full_blocks(hashes("hx", "hy"), [x, y], 0, 2)
    pool.free_blocks([x])
    pool.free_blocks([y])
    (first,) = pool.get_new_blocks(1)
    assert first is x and x.block_hash is None and pool.get_cached_block(b"hx") is None
    assert pool.get_cached_block(b"hy") is y


def test_first_block_wins_a_hash():
    """Two blocks with the same content: only the first registered serves the hash."""
    pool = impl.BlockPool(5)
    a, b = pool.get_new_blocks(2)
    pool.cache_full_blocks(hashes("same"), [a], 0, 1)
    pool.cache_full_blocks(hashes("same"), [b], 0, 1)
    assert pool.get_cached_block(b"same") is a and b.block_hash is None
    pool.free_blocks([b])
    pool.get_new_blocks(2)  # b is evicted by reuse; a's entry must survive
    assert pool.get_cached_block(b"same") is a


def test_random_operations_keep_invariants():
    """500 random alloc/free/touch/cache steps: queued iff ref 0; cache entries match block hashes."""
    rng = random.Random(0)
    pool = impl.BlockPool(12)
    held: list = []
    for step in range(500):
        op = rng.random()
        if op < 0.4 and pool.get_num_free_blocks():
            held += pool.get_new_blocks(rng.randint(1, pool.get_num_free_blocks()))
        elif op < 0.7 and held:
            rng.shuffle(held)
            k = rng.randint(1, len(held))
            pool.free_blocks(held[:k])
            held = held[k:]
        elif op < 0.85 and held:
            block = rng.choice(held)
            pool.cache_full_blocks(hashes(f"h{step}"), [block], 0, 1)
        else:
            cached = list(pool.cached_block_hash_to_block.values())
            if cached:
                block = rng.choice(cached)
                pool.touch([block])
                held.append(block)
        queued = set(queued_ids(pool))
        for block in pool.blocks[1:]:
            assert (block.block_id in queued) == (block.ref_cnt == 0)
        for h, block in pool.cached_block_hash_to_block.items():
            assert block.block_hash == h
    assert 0 not in queued_ids(pool)
