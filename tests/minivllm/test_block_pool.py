"""Tests for minivllm.core.block_pool."""

from __future__ import annotations

import pytest

from minivllm.core.block_pool import BlockPool
from minivllm.core.kv_cache_utils import get_request_block_hasher, is_queued
from minivllm.request import Request
from minivllm.sampling_params import SamplingParams


def _request(tokens: list[int], block_size: int = 2) -> Request:
    return Request("r", tokens, SamplingParams(), block_hasher=get_request_block_hasher(block_size))


def test_null_block_is_never_handed_out() -> None:
    """Block 0 is reserved: all other blocks can be allocated, block 0 never."""
    pool = BlockPool(5)
    assert pool.get_num_free_blocks() == 4
    blocks = pool.get_new_blocks(4)
    assert 0 not in [b.block_id for b in blocks]
    assert pool.null_block.is_null and not is_queued(pool.null_block)


def test_get_new_blocks_sets_refcount_and_refuses_overdraw() -> None:
    """New blocks have ref_cnt 1; asking for more than free raises."""
    pool = BlockPool(4)
    blocks = pool.get_new_blocks(2)
    assert [b.ref_cnt for b in blocks] == [1, 1]
    with pytest.raises(ValueError):
        pool.get_new_blocks(2)


def test_freed_blocks_are_reused_least_recently_freed_first() -> None:
    """Eviction order is the order blocks were freed (LRU)."""
    pool = BlockPool(5)
    a, b, c, d = pool.get_new_blocks(4)
    pool.free_blocks([c, a])
    pool.free_blocks([d])
    assert [x.block_id for x in pool.get_new_blocks(3)] == [c.block_id, a.block_id, d.block_id]


def test_shared_block_returns_to_queue_only_at_zero_refs() -> None:
    """A block referenced twice stays out of the free queue after one free."""
    pool = BlockPool(3)
    (block,) = pool.get_new_blocks(1)
    pool.touch([block])
    pool.free_blocks([block])
    assert block.ref_cnt == 1 and not is_queued(block)
    pool.free_blocks([block])
    assert block.ref_cnt == 0 and is_queued(block)


def test_cached_block_is_found_touched_and_evicted_on_reuse() -> None:
    """A freed cached block can be hit (and leaves the queue); reusing it evicts the hash."""
    pool = BlockPool(3)
    req = _request([1, 2, 3, 4])
    blocks = pool.get_new_blocks(2)
    pool.cache_full_blocks(req, blocks, 0, 2)
    assert pool.get_cached_block(req.block_hashes[1]) is blocks[1]
    pool.free_blocks(reversed(blocks))
    hit = pool.get_cached_block(req.block_hashes[0])
    pool.touch([hit])
    assert hit.ref_cnt == 1 and not is_queued(hit)
    (reused,) = pool.get_new_blocks(1)
    assert reused is blocks[1]
    assert reused.block_hash is None
    assert pool.get_cached_block(req.block_hashes[1]) is None
    assert pool.get_cached_block(req.block_hashes[0]) is hit


def test_duplicate_hash_keeps_first_block() -> None:
    """When two blocks hold the same prefix, the first registered one serves hits."""
    pool = BlockPool(4)
    req = _request([7, 7])
    first, second = pool.get_new_blocks(2)
    pool.cache_full_blocks(req, [first], 0, 1)
    pool.cache_full_blocks(req, [second], 0, 1)
    assert pool.get_cached_block(req.block_hashes[0]) is first
    assert second.block_hash is None


def test_reset_prefix_cache_only_when_idle() -> None:
    """Resetting is refused while blocks are held, and clears all hashes after."""
    pool = BlockPool(3)
    req = _request([1, 2])
    blocks = pool.get_new_blocks(1)
    pool.cache_full_blocks(req, blocks, 0, 1)
    assert not pool.reset_prefix_cache()
    pool.free_blocks(blocks)
    assert pool.reset_prefix_cache()
    assert pool.get_cached_block(req.block_hashes[0]) is None
    assert blocks[0].block_hash is None


def test_usage_counts_held_blocks() -> None:
    """Usage is the held fraction of the allocatable blocks."""
    pool = BlockPool(5)
    pool.get_new_blocks(2)
    assert pool.get_usage() == pytest.approx(0.5)
