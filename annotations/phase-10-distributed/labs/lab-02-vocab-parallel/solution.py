"""Lab 10.02: split the vocabulary across ranks for the embedding and the LM head.

The embedding table and the LM head are ``[vocab, hidden]``: with a 150k vocabulary they are
among the largest matrices of a model, so tensor parallelism splits them by vocabulary rows.
For the embedding, each rank looks up only the ids it owns (others read as zero) and a sum
all-reduce assembles the full embedding. For the LM head, each rank produces the logits of its
own id range and an all-gather concatenates them. The vocabulary is padded so every rank gets
the same number of rows (kernels like aligned sizes); padded rows never match a real id.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def padded_vocab(vocab: int, world: int, pad_to: int = 4) -> int:
    """The vocabulary size rounded up to a multiple of ``pad_to * world``."""
    step = pad_to * world
    return (vocab + step - 1) // step * step


def shard_range(vocab: int, rank: int, world: int, pad_to: int = 4) -> tuple[int, int]:
    """The ids ``[start, end)`` of the real vocabulary owned by ``rank`` (may be empty)."""
    per = padded_vocab(vocab, world, pad_to) // world
    start = min(rank * per, vocab)
    return start, min(start + per, vocab)


def embed_shard(ids: torch.Tensor, table_shard: torch.Tensor, start: int, end: int) -> torch.Tensor:
    """This rank's contribution: embeddings of the ids it owns, zeros for all others."""
    mine = (ids >= start) & (ids < end)
    local = torch.where(mine, ids - start, torch.zeros_like(ids))
    if table_shard.shape[0] == 0:
        return torch.zeros(*ids.shape, table_shard.shape[1], dtype=table_shard.dtype)
    out = table_shard[local]
    return out * mine.unsqueeze(-1).to(out.dtype)


def all_reduce(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    """Sum over ranks."""
    return torch.stack(list(parts)).sum(dim=0)


def parallel_embedding(ids: torch.Tensor, table: torch.Tensor, world: int) -> torch.Tensor:
    """The embedding lookup done by ``world`` simulated ranks plus one all-reduce."""
    parts = []
    for rank in range(world):
        start, end = shard_range(table.shape[0], rank, world)
        parts.append(embed_shard(ids, table[start:end], start, end))
    return all_reduce(parts)


def parallel_logits(hidden: torch.Tensor, lm_head: torch.Tensor, world: int) -> torch.Tensor:
    """Logits over the whole vocabulary from per-rank slices of the LM head (all-gather)."""
    vocab = lm_head.shape[0]
    per = padded_vocab(vocab, world) // world
    pieces = []
    for rank in range(world):
        start, end = shard_range(vocab, rank, world)
        local = hidden @ lm_head[start:end].T
        pad = torch.zeros(*hidden.shape[:-1], per - (end - start), dtype=local.dtype)
        pieces.append(torch.cat((local, pad), dim=-1))
    return torch.cat(pieces, dim=-1)[..., :vocab]
