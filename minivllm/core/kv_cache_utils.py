"""Block records, the free-block queue and block hashing for prefix caching.

A KV cache block holds the keys and values of ``block_size`` consecutive
tokens of one request. This module keeps only the bookkeeping (ids, reference
counts, hashes); the tensors live in the model runner.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minivllm.request import Request

BlockHash = bytes
"""A block's identity for the prefix cache: a digest of its tokens and of
every block before it, so equal hashes mean equal prefixes, not just equal
blocks."""

ROOT_HASH: BlockHash = hashlib.sha256(b"minivllm/prefix-root").digest()
"""Parent of the first block. Fixed rather than random so runs are
reproducible and tests can compare hashes across engines."""


# upstream: vllm/v1/core/kv_cache_utils.py:116 — KVCacheBlock
@dataclass(eq=False, slots=True)
class KVCacheBlock:
    """Metadata of one physical KV block.

    Mutable on purpose: the pool changes ``ref_cnt`` and the free-queue links
    in place millions of times, and identity (not value) equality is what the
    free queue needs.

    Attributes:
        block_id: Index of the block in every layer's cache tensor.
        ref_cnt: Number of requests whose block table holds this block.
        block_hash: Set once the block is full and registered in the prefix
            cache; None otherwise.
        prev_free: Previous block in the free queue (None when not queued).
        next_free: Next block in the free queue (None when not queued).
        is_null: True for the placeholder block 0 that pads block tables.
    """

    block_id: int
    ref_cnt: int = 0
    block_hash: BlockHash | None = None
    prev_free: KVCacheBlock | None = None
    next_free: KVCacheBlock | None = None
    is_null: bool = False

    def __repr__(self) -> str:
        return f"KVCacheBlock(id={self.block_id}, ref={self.ref_cnt})"


# upstream: vllm/v1/core/kv_cache_utils.py:164 — FreeKVCacheBlockQueue
class FreeKVCacheBlockQueue:
    """Doubly linked list of free blocks, least recently freed first.

    A deque cannot drop an element from its middle in O(1), and prefix-cache
    hits must do exactly that: a freed-but-cached block that is hit again
    leaves the queue wherever it sits. Two sentinel nodes remove every
    empty-list special case.
    """

    def __init__(self, blocks: Sequence[KVCacheBlock]) -> None:
        self.num_free_blocks = 0
        self._head = KVCacheBlock(-1)
        self._tail = KVCacheBlock(-1)
        self._head.next_free = self._tail
        self._tail.prev_free = self._head
        self.append_n(list(blocks))

    # upstream: vllm/v1/core/kv_cache_utils.py:216 — FreeKVCacheBlockQueue.popleft()
    def popleft(self) -> KVCacheBlock:
        """Take the block that has been free the longest (the LRU victim)."""
        block = self._head.next_free
        if block is self._tail or block is None:
            raise ValueError("no free blocks left")
        self.remove(block)
        return block

    # upstream: vllm/v1/core/kv_cache_utils.py:253 — FreeKVCacheBlockQueue.popleft_n()
    def popleft_n(self, n: int) -> list[KVCacheBlock]:
        """Take the ``n`` oldest free blocks, oldest first."""
        if n > self.num_free_blocks:
            raise ValueError(f"asked for {n} blocks, {self.num_free_blocks} free")
        return [self.popleft() for _ in range(n)]

    # upstream: vllm/v1/core/kv_cache_utils.py:286 — FreeKVCacheBlockQueue.remove()
    def remove(self, block: KVCacheBlock) -> None:
        """Unlink ``block`` from wherever it sits, in O(1)."""
        prev, nxt = block.prev_free, block.next_free
        if prev is None or nxt is None:
            raise ValueError(f"{block} is not in the free queue")
        prev.next_free = nxt
        nxt.prev_free = prev
        block.prev_free = block.next_free = None
        self.num_free_blocks -= 1

    # upstream: vllm/v1/core/kv_cache_utils.py:306 — FreeKVCacheBlockQueue.append()
    def append(self, block: KVCacheBlock) -> None:
        """Queue ``block`` as the most recently freed one (evicted last)."""
        last = self._tail.prev_free
        assert last is not None
        last.next_free = block
        block.prev_free = last
        block.next_free = self._tail
        self._tail.prev_free = block
        self.num_free_blocks += 1

    # upstream: vllm/v1/core/kv_cache_utils.py:329 — FreeKVCacheBlockQueue.append_n()
    def append_n(self, blocks: Sequence[KVCacheBlock]) -> None:
        """Queue ``blocks`` in order; the first of them is evicted first."""
        for block in blocks:
            self.append(block)

    # upstream: vllm/v1/core/kv_cache_utils.py:354 — FreeKVCacheBlockQueue.get_all_free_blocks()
    def get_all_free_blocks(self) -> list[KVCacheBlock]:
        """Walk the queue front to back (for tests and invariant checks)."""
        out: list[KVCacheBlock] = []
        node = self._head.next_free
        while node is not None and node is not self._tail:
            out.append(node)
            node = node.next_free
        return out


def is_queued(block: KVCacheBlock) -> bool:
    """Whether ``block`` is linked into a free queue right now."""
    return block.prev_free is not None


# upstream: vllm/v1/core/kv_cache_utils.py:541 — hash_block_tokens()
def hash_block_tokens(
    parent_hash: BlockHash | None,
    token_ids: Sequence[int],
    extra_keys: tuple[object, ...] = (),
) -> BlockHash:
    """Digest of one full block chained to the digest of its parent.

    Chaining makes a block's hash depend on the whole prefix, so a cache hit
    on block ``i`` implies blocks ``0..i-1`` match too. ``extra_keys`` carry
    whatever else changes the KV values for the same tokens (a LoRA adapter,
    for example).

    Args:
        parent_hash: Hash of the previous block, or None for the first block.
        token_ids: Exactly one block of token ids.
        extra_keys: Additional values mixed into the digest.

    Returns:
        A 32-byte SHA-256 digest.
    """
    h = hashlib.sha256(parent_hash or ROOT_HASH)
    h.update(array("q", token_ids).tobytes())
    if extra_keys:
        h.update(repr(extra_keys).encode())
    return h.digest()


# upstream: vllm/v1/core/kv_cache_utils.py:637 — get_request_block_hasher()
def get_request_block_hasher(block_size: int) -> Callable[[Request], list[BlockHash]]:
    """Build the function a request calls to hash its newly filled blocks.

    The request stores the hashes it already has; the returned function only
    hashes blocks completed since, so the total hashing cost over a request's
    life is linear in its length.
    """

    # upstream: vllm/v1/core/kv_cache_utils.py:645 — request_block_hasher()
    def request_block_hasher(request: Request) -> list[BlockHash]:
        hashes = request.block_hashes
        parent = hashes[-1] if hashes else None
        start = len(hashes) * block_size
        tokens = request.all_token_ids
        new: list[BlockHash] = []
        while start + block_size <= len(tokens):
            parent = hash_block_tokens(
                parent, tokens[start : start + block_size], request.extra_hash_keys
            )
            new.append(parent)
            start += block_size
        return new

    return request_block_hasher


def cdiv(a: int, b: int) -> int:
    """Ceiling division: the number of ``b``-sized blocks that hold ``a``."""
    return -(-a // b)
