"""Lab 02.05 tests: slot mapping arithmetic, and write-then-gather round trips through a paged cache."""

from __future__ import annotations

import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

BS, BLOCKS, HEADS, DIM = 4, 10, 2, 3


def empty_cache() -> torch.Tensor:
    """A zeroed cache in minivllm's layout [2, kv_heads, num_blocks, block_size, head_dim]."""
    return torch.zeros(2, HEADS, BLOCKS, BS, DIM)


def block_view(cache: torch.Tensor, kv: int, block: int) -> torch.Tensor:
    """One block of keys (kv=0) or values (kv=1), token-major [BS, HEADS, DIM]."""
    return cache[kv, :, block].transpose(0, 1)


def token_major(x: torch.Tensor) -> torch.Tensor:
    """gather_kv output [kv_heads, ..., tokens, D] → [..., tokens, kv_heads, D]."""
    return x.movedim(0, -2)


def test_hand_worked_slots():
    """Request 0 (table [7, 2]) at positions 3..5 and request 1 (table [4]) at position 0."""
    table = torch.tensor([[7, 2], [4, 0]])
    req_idx = torch.tensor([0, 0, 0, 1])
    positions = torch.tensor([3, 4, 5, 0])
    slots = impl.compute_slot_mapping(table, req_idx, positions, BS)
    assert slots.tolist() == [7 * 4 + 3, 2 * 4 + 0, 2 * 4 + 1, 4 * 4 + 0]


def test_slots_land_in_the_right_block_and_never_collide():
    """Each slot is inside the block of its position; a batch's slots are all distinct."""
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(BLOCKS - 1, generator=g) + 1
    table = torch.stack((perm[:4], perm[4:8]))
    lengths = [13, 9]
    req_idx = torch.cat([torch.full((n,), i) for i, n in enumerate(lengths)])
    positions = torch.cat([torch.arange(n) for n in lengths])
    slots = impl.compute_slot_mapping(table, req_idx, positions, BS)
    assert len(set(slots.tolist())) == len(slots)
    block_of = table[req_idx, positions // BS]
    assert torch.equal(slots // BS, block_of) and torch.equal(slots % BS, positions % BS)


def test_write_then_gather_round_trips_and_leaves_others_alone():
    """Keys/values written via slots come back in token order from gather_kv; other blocks stay zero."""
    cache = empty_cache()
    table = torch.tensor([[5, 1, 8]])
    n = 10
    g = torch.Generator().manual_seed(1)
    k, v = torch.randn(n, HEADS, DIM, generator=g), torch.randn(n, HEADS, DIM, generator=g)
    slots = impl.compute_slot_mapping(table, torch.zeros(n, dtype=torch.long), torch.arange(n), BS)
    impl.write_kv(cache, k, v, slots)
    torch.testing.assert_close(block_view(cache, 0, 1), k[4:8])
    torch.testing.assert_close(block_view(cache, 1, 8)[:2], v[8:10])
    keys, values = impl.gather_kv(cache, table[0])
    assert token_major(keys).shape == (3 * BS, HEADS, DIM)
    torch.testing.assert_close(token_major(keys)[:n], k)
    torch.testing.assert_close(token_major(values)[:n], v)
    untouched = [b for b in range(BLOCKS) if b not in (5, 1, 8)]
    assert torch.count_nonzero(cache[:, :, untouched]) == 0


def test_gather_accepts_a_batch_of_tables():
    """gather_kv on [B, n_blocks] tables returns each request's blocks in table order."""
    cache = torch.randn(2, HEADS, BLOCKS, BS, DIM, generator=torch.Generator().manual_seed(2))
    tables = torch.tensor([[3, 1], [2, 9]])
    keys, values = impl.gather_kv(cache, tables)
    keys, values = token_major(keys), token_major(values)
    assert keys.shape == (2, 2 * BS, HEADS, DIM)
    torch.testing.assert_close(keys[1, BS:], block_view(cache, 0, 9))
    torch.testing.assert_close(values[0, :BS], block_view(cache, 1, 3))
