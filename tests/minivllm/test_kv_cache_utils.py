"""Tests for minivllm.core.kv_cache_utils."""

from __future__ import annotations

import pytest

from minivllm.core.kv_cache_utils import (
    FreeKVCacheBlockQueue,
    KVCacheBlock,
    cdiv,
    get_request_block_hasher,
    hash_block_tokens,
    is_queued,
)
from minivllm.request import Request
from minivllm.sampling_params import SamplingParams


def _ids(blocks: list[KVCacheBlock]) -> list[int]:
    return [b.block_id for b in blocks]


def test_queue_pops_in_insertion_order() -> None:
    """popleft returns blocks in the order they were queued (LRU first)."""
    q = FreeKVCacheBlockQueue([KVCacheBlock(i) for i in range(4)])
    assert [q.popleft().block_id for _ in range(4)] == [0, 1, 2, 3]
    assert q.num_free_blocks == 0


def test_queue_remove_from_middle_keeps_neighbours_linked() -> None:
    """Removing a middle block leaves the others in order and unlinks it."""
    blocks = [KVCacheBlock(i) for i in range(5)]
    q = FreeKVCacheBlockQueue(blocks)
    q.remove(blocks[2])
    assert _ids(q.get_all_free_blocks()) == [0, 1, 3, 4]
    assert q.num_free_blocks == 4
    assert not is_queued(blocks[2])
    q.append(blocks[2])
    assert _ids(q.get_all_free_blocks()) == [0, 1, 3, 4, 2]


def test_queue_remove_of_unqueued_block_raises() -> None:
    """Removing a block that is not queued is an error, not a silent corruption."""
    q = FreeKVCacheBlockQueue([KVCacheBlock(0)])
    block = q.popleft()
    with pytest.raises(ValueError):
        q.remove(block)


def test_queue_popleft_n_and_empty() -> None:
    """popleft_n takes the n oldest; asking for more than queued raises."""
    q = FreeKVCacheBlockQueue([KVCacheBlock(i) for i in range(3)])
    assert _ids(q.popleft_n(2)) == [0, 1]
    with pytest.raises(ValueError):
        q.popleft_n(2)
    q.popleft()
    with pytest.raises(ValueError):
        q.popleft()


def test_hash_depends_on_parent_tokens_and_extra_keys() -> None:
    """The block hash changes with the parent, the tokens, or the extra keys."""
    base = hash_block_tokens(None, [1, 2, 3, 4])
    assert base == hash_block_tokens(None, [1, 2, 3, 4])
    assert base != hash_block_tokens(None, [1, 2, 3, 5])
    assert base != hash_block_tokens(b"x" * 32, [1, 2, 3, 4])
    assert base != hash_block_tokens(None, [1, 2, 3, 4], ("adapter-a",))


def test_request_hasher_chains_full_blocks_only() -> None:
    """Only full blocks are hashed, each chained to the previous block's hash."""
    hasher = get_request_block_hasher(4)
    req = Request("r", list(range(10)), SamplingParams(), block_hasher=hasher)
    h0 = hash_block_tokens(None, [0, 1, 2, 3])
    h1 = hash_block_tokens(h0, [4, 5, 6, 7])
    assert req.block_hashes == [h0, h1]
    req.append_output_token_ids([10])
    assert len(req.block_hashes) == 2
    req.append_output_token_ids([11])
    assert req.block_hashes[2] == hash_block_tokens(h1, [8, 9, 10, 11])


def test_request_hasher_mixes_extra_keys() -> None:
    """Two requests with equal tokens but different extra keys share no hash."""
    hasher = get_request_block_hasher(2)
    a = Request("a", [1, 2], SamplingParams(), block_hasher=hasher)
    b = Request("b", [1, 2], SamplingParams(), block_hasher=hasher, extra_hash_keys=("lora",))
    assert a.block_hashes != b.block_hashes


@pytest.mark.parametrize(("a", "b", "expected"), [(0, 4, 0), (1, 4, 1), (4, 4, 1), (5, 4, 2)])
def test_cdiv(a: int, b: int, expected: int) -> None:
    """cdiv rounds up."""
    assert cdiv(a, b) == expected
