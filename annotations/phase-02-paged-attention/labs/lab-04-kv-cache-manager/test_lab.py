"""Lab 02.04 tests: prefix hits, all-or-nothing allocation and tail-first freeing."""

from __future__ import annotations

from minivllm.core.kv_cache_utils import get_request_block_hasher
from minivllm.request import Request
from minivllm.sampling_params import SamplingParams

from annotator.labs import load_impl

impl = load_impl(__file__)

BS = 4


def request(rid: str, tokens: list[int]) -> Request:
    """A request that hashes its blocks (prefix caching on)."""
    return Request(rid, tokens, SamplingParams(), block_hasher=get_request_block_hasher(BS))


def prefill(mgr, req: Request):
    """Look up the cache, allocate the rest of the prompt, mark it computed; return the hit length."""
    hits, num_hit = mgr.get_computed_blocks(req)
    assert mgr.allocate_slots(req, req.num_tokens - num_hit, num_hit, hits) is not None
    req.num_computed_tokens = req.num_tokens
    return num_hit


def test_hit_is_longest_prefix_but_never_the_whole_prompt():
    """Same 12-token prompt hits 2 of 3 blocks; a change in block 1 cuts the hit to block 0."""
    mgr = impl.KVCacheManager(16, BS)
    prefill(mgr, request("a", list(range(12))))
    assert prefill(mgr, request("b", list(range(12)))) == 8
    changed = list(range(12))
    changed[5] = 77
    hits, n = mgr.get_computed_blocks(request("c", changed))
    assert n == 4 and len(hits) == 1
    assert mgr.get_block_ids("b")[:2] == mgr.get_block_ids("a")[:2]
    assert mgr.block_pool.blocks[mgr.get_block_ids("a")[0]].ref_cnt == 2


def test_refusal_changes_nothing():
    """An allocation that does not fit returns None; free count and tables are unchanged."""
    mgr = impl.KVCacheManager(5, BS)  # 4 usable blocks
    prefill(mgr, request("a", list(range(10))))  # 3 blocks
    big = request("b", list(range(100, 110)))
    free_before = mgr.block_pool.get_num_free_blocks()
    assert mgr.allocate_slots(big, 10) is None
    assert mgr.block_pool.get_num_free_blocks() == free_before == 1
    assert mgr.get_block_ids("b") == []


def test_idle_hits_count_against_free_blocks():
    """Adopting idle cached blocks uses up free-queue room; a too-large request is refused whole."""
    mgr = impl.KVCacheManager(4, BS)  # 3 usable blocks
    a = request("a", list(range(9)))
    prefill(mgr, a)
    mgr.free(a)  # 3 idle blocks, 2 of them cached
    b = request("b", list(range(8)) + list(range(50, 58)))  # hits 2 blocks, needs 2 more
    hits, n = mgr.get_computed_blocks(b)
    assert n == 8
    assert mgr.allocate_slots(b, b.num_tokens - n, n, hits) is None
    assert mgr.block_pool.get_num_free_blocks() == 3 and all(h.ref_cnt == 0 for h in hits)
    c = request("c", list(range(8)) + [60, 61])  # hits 2 blocks, needs 1 more: fits exactly
    hits, n = mgr.get_computed_blocks(c)
    assert mgr.allocate_slots(c, c.num_tokens - n, n, hits) is not None
    assert mgr.block_pool.get_num_free_blocks() == 0


def test_free_releases_tail_first():
    """After freeing a 3-block request, the next allocations take its tail, then middle, then head."""
    mgr = impl.KVCacheManager(4, BS)
    a = request("a", list(range(12)))
    prefill(mgr, a)
    head, middle, tail = mgr.get_block_ids("a")
    mgr.free(a)
    assert mgr.get_block_ids("a") == []
    order = [mgr.block_pool.get_new_blocks(1)[0].block_id for _ in range(3)]
    assert order == [tail, middle, head]


def test_lookahead_reserves_blocks():
    """Lookahead slots get blocks now, without changing the computed-token count."""
    mgr = impl.KVCacheManager(16, BS)
    r = request("r", list(range(5)))
    new = mgr.allocate_slots(r, 5, num_lookahead_tokens=4)
    assert new is not None and len(mgr.get_block_ids("r")) == 3
    assert r.num_computed_tokens == 0


def test_hit_stops_at_the_first_evicted_block():
    """If a prefix's middle block was evicted, the hit ends before it even though later blocks remain."""
    mgr = impl.KVCacheManager(16, BS)
    a = request("a", list(range(13)))
    prefill(mgr, a)
    mgr.free(a)
    del mgr.block_pool.cached_block_hash_to_block[a.block_hashes[1]]  # as if block 1 alone were evicted
    hits, n = mgr.get_computed_blocks(request("b", list(range(13))))
    assert n == 4 and len(hits) == 1
