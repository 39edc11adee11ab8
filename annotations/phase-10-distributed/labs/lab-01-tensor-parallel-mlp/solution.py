"""Lab 10.01: a SwiGLU MLP split over ``world`` ranks (simulated in one process).

Megatron-style tensor parallelism pairs two layers: the first is split by output features
(column parallel) so each rank computes a slice of the hidden activation from the full input; the
second is split by input features (row parallel) so each rank multiplies *its* slice and
produces a partial sum of the full output. One all-reduce (sum) at the end restores the dense
result. Element-wise activations in between need no communication, but only if each rank's
gate slice lines up with its up slice — which is why fused ``[gate | up]`` weights are sharded
part by part.

Weights use the ``nn.Linear`` layout ``[out_features, in_features]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def _split(size: int, rank: int, world: int) -> slice:
    if size % world:
        raise ValueError(f"{size} features cannot be split evenly over {world} ranks")
    per = size // world
    return slice(rank * per, (rank + 1) * per)


def shard_columns(w: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """Rank ``rank``'s output-feature slice of ``w`` (column parallel)."""
    return w[_split(w.shape[0], rank, world)]


def shard_merged_columns(
    w: torch.Tensor, sizes: Sequence[int], rank: int, world: int
) -> torch.Tensor:
    """Column-shard a weight that stacks several outputs (``sizes`` rows each) part by part."""
    parts = torch.split(w, list(sizes), dim=0)
    return torch.cat([shard_columns(p, rank, world) for p in parts], dim=0)


def shard_rows(w: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """Rank ``rank``'s input-feature slice of ``w`` (row parallel)."""
    return w[:, _split(w.shape[1], rank, world)]


def all_reduce(partials: Sequence[torch.Tensor]) -> torch.Tensor:
    """What every rank holds after a sum all-reduce."""
    return torch.stack(list(partials)).sum(dim=0)


def dense_mlp(x: torch.Tensor, w_gate_up: torch.Tensor, w_down: torch.Tensor) -> torch.Tensor:
    """The unsharded reference: ``down(silu(gate(x)) * up(x))``."""
    gate, up = (x @ w_gate_up.T).chunk(2, dim=-1)
    return (F.silu(gate) * up) @ w_down.T


def tp_mlp(
    x: torch.Tensor, w_gate_up: torch.Tensor, w_down: torch.Tensor, world: int
) -> torch.Tensor:
    """The MLP computed by ``world`` simulated ranks with a single all-reduce."""
    inter = w_down.shape[1]
    partials = []
    for rank in range(world):
        local = shard_merged_columns(w_gate_up, (inter, inter), rank, world)
        gate, up = (x @ local.T).chunk(2, dim=-1)
        partials.append((F.silu(gate) * up) @ shard_rows(w_down, rank, world).T)
    return all_reduce(partials)
