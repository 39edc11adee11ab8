"""The pool of physical KV blocks: allocation, reference counts, prefix cache.

Freed blocks keep their contents and hash until the pool hands them out
again, so a later request with the same prefix can take them back (a cache
hit) instead of recomputing. The free queue's order makes the reuse LRU.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from minivllm.core.kv_cache_utils import BlockHash, FreeKVCacheBlockQueue, KVCacheBlock

if TYPE_CHECKING:
    from minivllm.request import Request


# upstream: vllm/v1/core/block_pool.py:130 — BlockPool
class BlockPool:
    """Owns every ``KVCacheBlock`` and the hash → block map of the prefix cache.

    Block 0 is the null block: it is never allocated, and block tables are
    padded with it so that table tensors can be rectangular.

    Args:
        num_blocks: Number of physical blocks, the null block included.
        enable_caching: Whether full blocks are registered for prefix reuse.
    """

    # upstream: vllm/v1/core/block_pool.py:149 — BlockPool.__init__()
    def __init__(self, num_blocks: int, enable_caching: bool = True) -> None:
        if num_blocks < 2:
            raise ValueError(f"need at least 2 KV blocks (one is the null block), got {num_blocks}")
        self.num_blocks = num_blocks
        self.enable_caching = enable_caching
        self.blocks = [KVCacheBlock(i) for i in range(num_blocks)]
        self.free_block_queue = FreeKVCacheBlockQueue(self.blocks)
        self.cached_block_hash_to_block: dict[BlockHash, KVCacheBlock] = {}
        self.null_block = self.free_block_queue.popleft()
        self.null_block.is_null = True

    # upstream: vllm/v1/core/block_pool.py:184 — BlockPool.get_cached_block()
    def get_cached_block(self, block_hash: BlockHash) -> KVCacheBlock | None:
        """The block holding this exact prefix, or None on a cache miss."""
        return self.cached_block_hash_to_block.get(block_hash)

    # upstream: vllm/v1/core/block_pool.py:211 — BlockPool.cache_full_blocks()
    def cache_full_blocks(
        self,
        request: Request,
        blocks: Sequence[KVCacheBlock],
        num_cached_blocks: int,
        num_full_blocks: int,
    ) -> None:
        """Register ``blocks[num_cached_blocks:num_full_blocks]`` for reuse.

        Only full blocks reach here: a partial block's contents will still
        change, so its hash would lie. If another block already serves the
        same hash, this one stays unregistered (the first copy wins).
        """
        for i in range(num_cached_blocks, num_full_blocks):
            block = blocks[i]
            if block.block_hash is not None or block.is_null:
                continue
            block_hash = request.block_hashes[i]
            if block_hash in self.cached_block_hash_to_block:
                continue
            block.block_hash = block_hash
            self.cached_block_hash_to_block[block_hash] = block

    # upstream: vllm/v1/core/block_pool.py:333 — BlockPool.get_new_blocks()
    def get_new_blocks(self, num_blocks: int) -> list[KVCacheBlock]:
        """Take ``num_blocks`` blocks from the front of the free queue.

        Blocks at the front are the least recently freed; if one still holds
        a cached prefix, that prefix is evicted here, at the last moment.
        """
        if num_blocks > self.free_block_queue.num_free_blocks:
            raise ValueError(
                f"cannot allocate {num_blocks} blocks: "
                f"only {self.free_block_queue.num_free_blocks} free"
            )
        blocks = self.free_block_queue.popleft_n(num_blocks)
        for block in blocks:
            self._maybe_evict_cached_block(block)
            block.ref_cnt = 1
        return blocks

    # upstream: vllm/v1/core/block_pool.py:365 — BlockPool._maybe_evict_cached_block()
    def _maybe_evict_cached_block(self, block: KVCacheBlock) -> bool:
        """Forget ``block``'s cached prefix before its memory is overwritten."""
        if block.block_hash is None:
            return False
        if self.cached_block_hash_to_block.get(block.block_hash) is block:
            del self.cached_block_hash_to_block[block.block_hash]
        block.block_hash = None
        return True

    # upstream: vllm/v1/core/block_pool.py:402 — BlockPool.touch()
    def touch(self, blocks: Iterable[KVCacheBlock]) -> None:
        """Take a reference on cache-hit blocks, pulling idle ones off the free queue."""
        for block in blocks:
            if block.ref_cnt == 0 and not block.is_null:
                self.free_block_queue.remove(block)
            block.ref_cnt += 1

    # upstream: vllm/v1/core/block_pool.py:419 — BlockPool.free_blocks()
    def free_blocks(self, ordered_blocks: Iterable[KVCacheBlock]) -> None:
        """Drop one reference per block; blocks reaching zero join the queue.

        The order given is the eviction order: the caller passes a request's
        blocks tail first, so the shared head of a prefix is evicted last.
        """
        released = []
        for block in ordered_blocks:
            block.ref_cnt -= 1
            if block.ref_cnt == 0 and not block.is_null:
                released.append(block)
        self.free_block_queue.append_n(released)

    # upstream: vllm/v1/core/block_pool.py:454 — BlockPool.reset_prefix_cache()
    def reset_prefix_cache(self) -> bool:
        """Forget every cached prefix; refused while any block is in use."""
        if self.get_num_free_blocks() != self.num_blocks - 1:
            return False
        for block in self.blocks:
            block.block_hash = None
        self.cached_block_hash_to_block.clear()
        return True

    # upstream: vllm/v1/core/block_pool.py:489 — BlockPool.get_num_free_blocks()
    def get_num_free_blocks(self) -> int:
        """Blocks that can be handed out now (evictable cached ones included)."""
        return self.free_block_queue.num_free_blocks

    # upstream: vllm/v1/core/block_pool.py:497 — BlockPool.get_usage()
    def get_usage(self) -> float:
        """Fraction of allocatable blocks held by requests."""
        usable = self.num_blocks - 1
        return 1.0 - self.get_num_free_blocks() / usable
