"""Lab 02.01 tests: the free-block queue keeps LRU order and removes from the middle in O(1)."""

from __future__ import annotations

import random

import pytest

from annotator.labs import load_impl

impl = load_impl(__file__)


def make_queue(n: int):
    """A queue over ``n`` fresh blocks, and the blocks."""
    blocks = [impl.KVCacheBlock(i) for i in range(n)]
    return impl.FreeKVCacheBlockQueue(blocks), blocks


def ids(queue) -> list[int]:
    """Block ids front to back."""
    return [b.block_id for b in queue.get_all_free_blocks()]


def test_new_queue_holds_every_block_in_order():
    """A fresh queue lists all blocks in id order and counts them."""
    queue, _ = make_queue(5)
    assert ids(queue) == [0, 1, 2, 3, 4]
    assert queue.num_free_blocks == 5


def test_popleft_takes_oldest_and_refuses_when_empty():
    """popleft returns blocks front first and raises ValueError once the queue is empty."""
    queue, blocks = make_queue(3)
    assert [queue.popleft() for _ in range(3)] == blocks
    assert queue.num_free_blocks == 0
    with pytest.raises(ValueError):
        queue.popleft()


def test_remove_from_front_middle_and_back():
    """Removing anywhere keeps the others in order, and the removed block is unlinked."""
    queue, blocks = make_queue(6)
    for victim in (blocks[3], blocks[0], blocks[5]):
        queue.remove(victim)
        assert victim.prev_free is None and victim.next_free is None
    assert ids(queue) == [1, 2, 4]
    assert queue.num_free_blocks == 3


def test_remove_of_unqueued_block_is_an_error():
    """Removing a block that is not queued raises ValueError instead of corrupting links."""
    queue, blocks = make_queue(3)
    queue.remove(blocks[1])
    with pytest.raises(ValueError):
        queue.remove(blocks[1])
    assert ids(queue) == [0, 2]


def test_append_puts_block_at_the_back():
    """An appended block comes out last, after every block already queued."""
    queue, blocks = make_queue(4)
    first = queue.popleft()
    queue.append(first)
    assert ids(queue) == [1, 2, 3, 0]
    assert queue.num_free_blocks == 4


def test_random_operations_match_a_list_model():
    """2,000 random popleft/remove/append calls agree with a Python list, links included."""
    rng = random.Random(0)
    queue, blocks = make_queue(16)
    model = list(blocks)
    for _ in range(2000):
        op = rng.choice(("popleft", "remove", "append"))
        if op == "popleft" and model:
            assert queue.popleft() is model.pop(0)
        elif op == "remove" and model:
            victim = rng.choice(model)
            model.remove(victim)
            queue.remove(victim)
        elif op == "append":
            spare = [b for b in blocks if b not in model]
            if spare:
                block = rng.choice(spare)
                model.append(block)
                queue.append(block)
        assert queue.get_all_free_blocks() == model
        assert queue.num_free_blocks == len(model)
    for i, block in enumerate(model):
        assert block.prev_free is not None and block.next_free is not None
        if i:
            assert block.prev_free is model[i - 1]
