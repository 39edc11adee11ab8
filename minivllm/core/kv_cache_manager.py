"""Per-request block tables on top of the block pool.

The scheduler asks two questions here: "how much of this prompt is already
cached?" (``get_computed_blocks``) and "can this request grow by n tokens?"
(``allocate_slots``). A refusal changes nothing, so the scheduler can react
(preempt someone, or wait) without undoing half an allocation.
"""

from __future__ import annotations

from collections.abc import Sequence

from minivllm.core.block_pool import BlockPool
from minivllm.core.kv_cache_utils import KVCacheBlock, cdiv
from minivllm.request import Request


# upstream: vllm/v1/core/kv_cache_manager.py:110 — KVCacheManager
class KVCacheManager:
    """Maps each request id to the ordered list of blocks holding its KV.

    Args:
        num_blocks: Physical blocks in the pool (the null block included).
        block_size: Tokens per block.
        enable_caching: Whether to reuse blocks across requests (prefix caching).
        sliding_window: The model's attention window in tokens, or None: blocks
            that have slid out of every future query's window are freed.
    """

    # upstream: vllm/v1/core/kv_cache_manager.py:111 — KVCacheManager.__init__()
    def __init__(
        self, num_blocks: int, block_size: int, enable_caching: bool = True, sliding_window: int | None = None
    ) -> None:
        self.block_size = block_size
        self.enable_caching = enable_caching
        self.sliding_window = sliding_window
        self.block_pool = BlockPool(num_blocks, enable_caching)
        self.req_to_blocks: dict[str, list[KVCacheBlock]] = {}
        self.num_cached_block: dict[str, int] = {}
        self.pending_copies: list[tuple[int, int]] = []

    @property
    def usage(self) -> float:
        """Fraction of the pool in use (0..1)."""
        return self.block_pool.get_usage()

    # upstream: vllm/v1/core/kv_cache_manager.py:194 — KVCacheManager.get_computed_blocks()
    def get_computed_blocks(self, request: Request) -> tuple[list[KVCacheBlock], int]:
        """Longest run of the request's leading full blocks found in the cache.

        The last prompt token is always left out of the hit, even when the
        whole prompt is cached: the step still needs one token's forward
        pass to produce the logits for the first output token.

        Returns:
            The hit blocks (not yet referenced) and the tokens they cover.
        """
        if not self.enable_caching:
            return [], 0
        max_hit_blocks = (request.num_tokens - 1) // self.block_size
        hits: list[KVCacheBlock] = []
        for block_hash in request.block_hashes[:max_hit_blocks]:
            block = self.block_pool.get_cached_block(block_hash)
            if block is None:
                break
            hits.append(block)
        return hits, len(hits) * self.block_size

    # upstream: vllm/v1/core/kv_cache_manager.py:236 — KVCacheManager.allocate_slots()
    def allocate_slots(
        self,
        request: Request,
        num_new_tokens: int,
        num_new_computed_tokens: int = 0,
        new_computed_blocks: Sequence[KVCacheBlock] = (),
        num_lookahead_tokens: int = 0,
    ) -> list[KVCacheBlock] | None:
        """Make room for ``num_new_tokens`` more tokens of ``request``.

        Args:
            request: The request; ``num_computed_tokens`` tokens of it already
                have blocks.
            num_new_tokens: Tokens to compute this step.
            num_new_computed_tokens: Tokens covered by ``new_computed_blocks``
                (a prefix-cache hit found this step).
            new_computed_blocks: Cache-hit blocks to adopt, from
                ``get_computed_blocks``.
            num_lookahead_tokens: Extra slots reserved but not hashed (room
                for speculative tokens).

        Returns:
            The newly allocated blocks, or None if the pool is too small — in
            which case nothing was changed.
        """
        self.remove_skipped_blocks(request, request.num_computed_tokens + num_new_computed_tokens)
        blocks = self.req_to_blocks.get(request.request_id, [])
        num_tokens = (
            request.num_computed_tokens + num_new_computed_tokens + num_new_tokens
        )
        cow_index = self._shared_write_block(blocks, num_tokens - num_new_tokens, num_new_tokens)
        num_needed = (
            cdiv(num_tokens + num_lookahead_tokens, self.block_size)
            - len(blocks)
            - len(new_computed_blocks)
        )
        num_fresh = max(num_needed, 0) + (cow_index is not None)
        # Idle cache-hit blocks sit in the free queue: adopting them shrinks
        # what is left for fresh allocations.
        num_idle_hits = sum(1 for b in new_computed_blocks if b.ref_cnt == 0)
        if num_fresh > self.block_pool.get_num_free_blocks() - num_idle_hits:
            return None
        self.block_pool.touch(new_computed_blocks)
        new_blocks = self.block_pool.get_new_blocks(num_fresh)
        if cow_index is not None:
            self._copy_on_write(blocks, cow_index, new_blocks.pop())
        blocks = self.req_to_blocks.setdefault(request.request_id, [])
        blocks.extend(new_computed_blocks)
        blocks.extend(new_blocks)
        if self.enable_caching:
            self.cache_blocks(request, min(num_tokens, request.num_tokens))
        return new_blocks

    # upstream: vllm/v1/core/single_type_kv_cache_manager.py:420 — SingleTypeKVCacheManager.remove_skipped_blocks()
    def remove_skipped_blocks(self, request: Request, first_new_pos: int) -> None:
        """With a sliding window, free the blocks no query from ``first_new_pos`` on can see.

        A query at position ``p`` sees keys above ``p - window``, so every block
        lying wholly before ``first_new_pos - window + 1`` is dead for this
        request: it becomes the null block in the table (attention masks those
        positions anyway) and goes back to the pool — still cached, so another
        request sharing the prefix can hit it until it is evicted.
        """
        blocks = self.req_to_blocks.get(request.request_id)
        if self.sliding_window is None or not blocks:
            return
        dead = max(0, first_new_pos - self.sliding_window + 1) // self.block_size
        freed = []
        for i in range(min(dead, len(blocks)) - 1, -1, -1):
            if blocks[i].is_null:
                break  # this one and all before it were freed at an earlier step
            freed.append(blocks[i])
            blocks[i] = self.block_pool.null_block
        if freed:
            self.block_pool.free_blocks(freed)

    def _shared_write_block(self, blocks: Sequence[KVCacheBlock], first_pos: int, num_new: int) -> int | None:
        """Index of a block another request also holds that this step would write into.

        Only a forked request's partly filled last block can be in that state:
        full blocks are never written again, and fresh blocks are private.
        """
        index = first_pos // self.block_size
        if num_new > 0 and index < len(blocks) and blocks[index].ref_cnt > 1:
            return index
        return None

    def _copy_on_write(self, blocks: list[KVCacheBlock], index: int, fresh: KVCacheBlock) -> None:
        """Give the request a private copy of ``blocks[index]`` before it writes there.

        The copy itself is the model runner's job (it owns the tensors): the
        pair is queued in ``pending_copies`` and travels with the step's
        ``SchedulerOutput``, so the copy happens before the step's writes.
        """
        shared = blocks[index]
        blocks[index] = fresh
        self.block_pool.free_blocks([shared])
        self.pending_copies.append((shared.block_id, fresh.block_id))

    def fork(self, parent: Request, child: Request) -> None:
        """Let ``child`` share every block of ``parent`` (parallel sampling).

        The child references the same physical blocks, so ``n`` samples of one
        prompt hold the prompt's KV once; the partly filled last block is
        copied only when a sample first writes into it (copy-on-write).
        """
        if child.request_id in self.req_to_blocks:
            raise ValueError(f"request {child.request_id} already holds blocks")
        blocks = self.req_to_blocks.get(parent.request_id, [])
        self.block_pool.touch(blocks)
        self.req_to_blocks[child.request_id] = list(blocks)
        self.num_cached_block[child.request_id] = self.num_cached_block.get(parent.request_id, 0)

    def take_pending_copies(self) -> tuple[tuple[int, int], ...]:
        """The ``(source, destination)`` block copies queued since the last call."""
        copies, self.pending_copies = tuple(self.pending_copies), []
        return copies

    # upstream: vllm/v1/core/kv_cache_manager.py:544 — KVCacheManager.cache_blocks()
    def cache_blocks(self, request: Request, num_tokens: int) -> None:
        """Register the request's blocks that ``num_tokens`` tokens fill.

        Called at allocation time, before the step computes them: within a
        step every layer writes all new keys and values before any query
        reads them, so a request scheduled in the same step may already
        hit these blocks.
        """
        num_full = num_tokens // self.block_size
        num_cached = self.num_cached_block.get(request.request_id, 0)
        if num_full <= num_cached:
            return
        blocks = self.req_to_blocks[request.request_id]
        self.block_pool.cache_full_blocks(request, blocks, num_cached, num_full)
        self.num_cached_block[request.request_id] = num_full

    # upstream: vllm/v1/core/kv_cache_manager.py:429 — KVCacheManager.free()
    def free(self, request: Request) -> None:
        """Release the request's blocks, last block first.

        The pool evicts in the order blocks are freed, so freeing the tail
        first keeps a prefix's head — the part other requests are most
        likely to share — in the cache the longest.
        """
        blocks = self.req_to_blocks.pop(request.request_id, [])
        self.num_cached_block.pop(request.request_id, None)
        self.block_pool.free_blocks(reversed(blocks))

    # upstream: vllm/v1/core/kv_cache_manager.py:540 — KVCacheManager.get_block_ids()
    def get_block_ids(self, request_id: str) -> list[int]:
        """The request's block table as block ids (empty if it has none)."""
        return [b.block_id for b in self.req_to_blocks.get(request_id, ())]

    # upstream: vllm/v1/core/kv_cache_manager.py:460 — KVCacheManager.reset_prefix_cache()
    def reset_prefix_cache(self) -> bool:
        """Drop every cached prefix (only possible when no request holds blocks)."""
        return self.block_pool.reset_prefix_cache()
