"""Lab 10.01 tests: the simulated tensor-parallel MLP equals the dense MLP for every world size."""

from __future__ import annotations

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

HIDDEN, INTER = 8, 16


def weights(seed: int = 0):
    """Dense float64 weights: w_gate_up [2*INTER, HIDDEN], w_down [HIDDEN, INTER]."""
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(2 * INTER, HIDDEN, generator=g, dtype=torch.float64),
        torch.randn(HIDDEN, INTER, generator=g, dtype=torch.float64),
    )


@pytest.mark.parametrize("world", [1, 2, 4, 8])
def test_tp_mlp_equals_dense(world: int):
    """The MLP over `world` simulated ranks equals the dense MLP."""
    w_gu, w_down = weights()
    x = torch.randn(5, HIDDEN, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(impl.tp_mlp(x, w_gu, w_down, world), impl.dense_mlp(x, w_gu, w_down))


@pytest.mark.parametrize("world", [2, 4])
def test_shards_tile_the_weight(world: int):
    """Column shards stack back to the weight along dim 0, row shards along dim 1."""
    w_gu, w_down = weights()
    cols = [impl.shard_columns(w_down, r, world) for r in range(world)]
    rows = [impl.shard_rows(w_down, r, world) for r in range(world)]
    assert torch.equal(torch.cat(cols, 0), w_down)
    assert torch.equal(torch.cat(rows, 1), w_down)
    merged = [impl.shard_merged_columns(w_gu, (INTER, INTER), r, world) for r in range(world)]
    per = INTER // world
    for r, shard in enumerate(merged):
        assert torch.equal(shard[:per], w_gu[r * per : (r + 1) * per])
        assert torch.equal(shard[per:], w_gu[INTER + r * per : INTER + (r + 1) * per])


def test_naive_split_of_fused_weight_is_wrong():
    """Splitting [gate | up] as one block breaks the MLP; splitting part by part keeps it exact."""
    w_gu, w_down = weights(2)
    x = torch.randn(3, HIDDEN, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    dense = impl.dense_mlp(x, w_gu, w_down)
    naive = []
    for r in range(2):
        gate, up = (x @ impl.shard_columns(w_gu, r, 2).T).chunk(2, dim=-1)
        naive.append((torch.nn.functional.silu(gate) * up) @ impl.shard_rows(w_down, r, 2).T)
    assert not torch.allclose(impl.all_reduce(naive), dense)
    torch.testing.assert_close(impl.tp_mlp(x, w_gu, w_down, 2), dense)


def test_indivisible_sizes_are_refused():
    """Sharding 10 features over 4 ranks raises ValueError."""
    with pytest.raises(ValueError):
        impl.shard_columns(torch.zeros(10, 4), 0, 4)
    with pytest.raises(ValueError):
        impl.shard_rows(torch.zeros(4, 10), 1, 4)
