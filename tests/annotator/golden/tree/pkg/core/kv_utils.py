"""A file whose basename is unique in the tree."""


class KVCacheBlock:
    """One block's bookkeeping."""

    block_id: int = 0
    ref_cnt: int = 0
