"""Tests for minivllm.core.kv_cache_manager."""

from __future__ import annotations

from minivllm.core.kv_cache_manager import KVCacheManager
from minivllm.core.kv_cache_utils import get_request_block_hasher
from minivllm.request import Request
from minivllm.sampling_params import SamplingParams

BS = 4


def _req(rid: str, tokens: list[int]) -> Request:
    return Request(rid, tokens, SamplingParams(), block_hasher=get_request_block_hasher(BS))


def _prefill(mgr: KVCacheManager, req: Request) -> None:
    """Allocate the whole prompt after any cache hit, as the scheduler would."""
    hits, n = mgr.get_computed_blocks(req)
    assert mgr.allocate_slots(req, req.num_tokens - n, n, hits) is not None
    req.num_computed_tokens = req.num_tokens


def test_cache_hit_never_covers_the_whole_prompt() -> None:
    """A fully cached block-aligned prompt still leaves its last block to compute."""
    mgr = KVCacheManager(16, BS)
    a = _req("a", list(range(8)))
    _prefill(mgr, a)
    hits, n = mgr.get_computed_blocks(_req("b", list(range(8))))
    assert n == 4 and len(hits) == 1


def test_longest_prefix_stops_at_first_miss() -> None:
    """The hit is the longest run of leading cached blocks, not any cached block."""
    mgr = KVCacheManager(16, BS)
    _prefill(mgr, _req("a", list(range(13))))
    other = list(range(4)) + [99, 99, 99, 99] + list(range(8, 13))
    _hits, n = mgr.get_computed_blocks(_req("b", other))
    assert n == 4


def test_refused_allocation_changes_nothing() -> None:
    """allocate_slots returns None when short and leaves pool and tables as they were."""
    mgr = KVCacheManager(4, BS)
    a = _req("a", list(range(8)))
    _prefill(mgr, a)
    b = _req("b", list(range(100, 112)))
    free_before = mgr.block_pool.get_num_free_blocks()
    assert mgr.allocate_slots(b, 12) is None
    assert mgr.block_pool.get_num_free_blocks() == free_before
    assert mgr.get_block_ids("b") == []


def test_prefix_hit_shares_blocks_by_reference() -> None:
    """A second request adopts the first one's prefix blocks, raising their ref count."""
    mgr = KVCacheManager(16, BS)
    a = _req("a", list(range(9)))
    _prefill(mgr, a)
    b = _req("b", list(range(8)) + [50, 51])
    _prefill(mgr, b)
    assert mgr.get_block_ids("b")[:2] == mgr.get_block_ids("a")[:2]
    assert [blk.ref_cnt for blk in mgr.req_to_blocks["a"][:2]] == [2, 2]


def test_idle_cache_hits_count_against_free_blocks() -> None:
    """Adopting idle cached blocks uses up free-queue entries, so the check accounts for them."""
    mgr = KVCacheManager(4, BS)
    a = _req("a", list(range(8)))
    _prefill(mgr, a)
    mgr.free(a)
    b = _req("b", list(range(8)) + list(range(50, 58)))
    hits, n = mgr.get_computed_blocks(b)
    assert n == 8
    assert mgr.allocate_slots(b, 8, n, hits) is None
    assert all(blk.ref_cnt == 0 for blk in hits)


def test_only_full_blocks_are_hashed() -> None:
    """After allocation, full blocks carry the request's hashes and the partial block none."""
    mgr = KVCacheManager(16, BS)
    a = _req("a", list(range(10)))
    _prefill(mgr, a)
    blocks = mgr.req_to_blocks["a"]
    assert [b.block_hash for b in blocks[:2]] == a.block_hashes
    assert blocks[2].block_hash is None


def test_free_releases_tail_first() -> None:
    """Freeing puts the last block at the front of the eviction order."""
    mgr = KVCacheManager(8, BS)
    a = _req("a", list(range(12)))
    _prefill(mgr, a)
    ids = mgr.get_block_ids("a")
    mgr.free(a)
    queue = [b.block_id for b in mgr.block_pool.free_block_queue.get_all_free_blocks()]
    assert queue[-3:] == ids[::-1]
    assert mgr.get_block_ids("a") == []


def test_decode_growth_allocates_one_block_per_block_size_tokens() -> None:
    """Appending tokens one at a time needs a new block only at block boundaries."""
    mgr = KVCacheManager(16, BS)
    a = _req("a", list(range(4)))
    _prefill(mgr, a)
    sizes = []
    for t in range(8):
        a.append_output_token_ids([t])
        new = mgr.allocate_slots(a, 1)
        a.num_computed_tokens += 1
        sizes.append(len(new))
    assert sizes == [1, 0, 0, 0, 1, 0, 0, 0]


def test_lookahead_slots_are_reserved_but_not_hashed() -> None:
    """Lookahead tokens get blocks but those blocks are not registered in the cache."""
    mgr = KVCacheManager(16, BS)
    a = _req("a", list(range(4)))
    new = mgr.allocate_slots(a, 4, num_lookahead_tokens=4)
    assert len(new) == 2
    assert new[0].block_hash is not None and new[1].block_hash is None


def test_fork_shares_every_block_by_reference() -> None:
    """A forked child holds the parent's blocks: same ids, ref counts raised, nothing new taken."""
    mgr = KVCacheManager(16, BS)
    parent, child = _req("p", list(range(10))), _req("c", list(range(10)))
    _prefill(mgr, parent)
    free = mgr.block_pool.get_num_free_blocks()
    mgr.fork(parent, child)
    assert mgr.get_block_ids("c") == mgr.get_block_ids("p")
    assert [b.ref_cnt for b in mgr.req_to_blocks["p"]] == [2, 2, 2]
    assert mgr.block_pool.get_num_free_blocks() == free


def test_first_write_into_shared_partial_block_copies_it_once() -> None:
    """Writing into a shared, partly filled block swaps in a private copy; the last holder writes in place."""
    mgr = KVCacheManager(16, BS)
    parent, a, b = (_req(r, list(range(10))) for r in "pab")
    _prefill(mgr, parent)
    for child in (a, b):
        mgr.fork(parent, child)
        child.num_computed_tokens = 10
    shared = mgr.req_to_blocks["p"][2]
    for req in (a, b, parent):
        req.append_output_token_ids([77])
        assert mgr.allocate_slots(req, 1) is not None
    copies = mgr.take_pending_copies()
    assert [src for src, _ in copies] == [shared.block_id, shared.block_id]
    assert mgr.req_to_blocks["p"][2] is shared and shared.ref_cnt == 1
    assert {mgr.get_block_ids(r)[2] for r in "pab"} == {shared.block_id, *(dst for _, dst in copies)}
    # Full prompt blocks stay shared: two of them once, plus one partial block per sample.
    assert mgr.block_pool.num_blocks - 1 - mgr.block_pool.get_num_free_blocks() == 2 + 3
    assert mgr.take_pending_copies() == ()


def test_block_aligned_fork_needs_no_copy() -> None:
    """When the prompt fills its last block, every sample starts a fresh block: no copies."""
    mgr = KVCacheManager(16, BS)
    parent, child = _req("p", list(range(8))), _req("c", list(range(8)))
    _prefill(mgr, parent)
    mgr.fork(parent, child)
    child.num_computed_tokens = 8
    for req in (child, parent):
        req.append_output_token_ids([5])
        assert mgr.allocate_slots(req, 1) is not None
    assert mgr.take_pending_copies() == ()
    assert mgr.get_block_ids("c")[:2] == mgr.get_block_ids("p")[:2]


def test_copy_on_write_refused_when_pool_is_empty() -> None:
    """A copy needs a free block; without one the allocation is refused and nothing changes."""
    mgr = KVCacheManager(4, BS)
    parent, child = _req("p", list(range(10))), _req("c", list(range(10)))
    _prefill(mgr, parent)
    mgr.fork(parent, child)
    child.num_computed_tokens = 10
    child.append_output_token_ids([5])
    assert mgr.block_pool.get_num_free_blocks() == 0
    assert mgr.allocate_slots(child, 1) is None
    assert mgr.get_block_ids("c") == mgr.get_block_ids("p") and mgr.pending_copies == []


def test_sliding_window_frees_blocks_no_query_can_see() -> None:
    """Window 6, blocks of 4: once the first new token is at 13, blocks 0-1 (tokens 0-7) are freed and nulled."""
    from minivllm.core.kv_cache_manager import KVCacheManager as Manager
    from minivllm.request import Request as Req
    from minivllm.sampling_params import SamplingParams as Params

    mgr = Manager(16, 4, enable_caching=False, sliding_window=6)
    req = Req("w", list(range(1, 13)), Params(max_tokens=20))
    assert mgr.allocate_slots(req, 12) is not None
    req.num_computed_tokens = 12
    free_before = mgr.block_pool.get_num_free_blocks()
    req.append_output_token_ids((5,))
    assert mgr.allocate_slots(req, 1) is not None  # first new token at 12: keys > 6 visible, block 0 dead
    assert mgr.get_block_ids("w")[0] == 0 and mgr.get_block_ids("w")[1] != 0
    req.num_computed_tokens = 13
    req.append_output_token_ids((6,))
    mgr.allocate_slots(req, 1)  # first new token at 13: keys > 7 visible, blocks 0-1 dead
    assert mgr.get_block_ids("w")[:2] == [0, 0]
    assert mgr.block_pool.get_num_free_blocks() == free_before + 2 - 1  # blocks 0 and 1 freed; block 3 taken for tokens 12-15
    mgr.free(req)
    assert mgr.block_pool.get_num_free_blocks() == 15
