"""A toy block pool: the tree the anchor tests cite."""

import functools

LIMIT = 8


class BlockPool:
    """Hands out fixed-size blocks from a free list."""

    def __init__(self, n: int) -> None:
        self.free = list(range(n))
        self.capacity = n

    @property
    def num_free(self) -> int:
        """How many blocks are free right now."""
        return len(self.free)

    def get_new_blocks(self, k: int) -> list[int]:
        """Take ``k`` blocks off the front of the free list."""
        taken = self.free[:k]
        self.free = self.free[k:]
        return taken

    @functools.lru_cache(maxsize=None)
    def block_bytes(self, width: int) -> int:
        return width * 16

    def free_blocks(self, blocks: list[int]) -> None:
        self.free.extend(reversed(blocks))


def helper() -> int:
    def inner() -> int:
        return 1

    return inner()
