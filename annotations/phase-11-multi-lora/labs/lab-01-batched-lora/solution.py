"""Lab 11.01: apply a different LoRA adapter to each row of one batch.

A LoRA adapter adds ``scaling · B A x`` to a linear layer, with ``A`` ``[rank, in]`` and ``B``
``[out, rank]`` for a small rank. Serving many adapters at once means one batch holds rows for
different adapters (and rows for none). Two kernel shapes do this without a Python loop over
rows: BGMV gathers each row's adapter matrix (good for decode, one token per request), SGMV
multiplies contiguous segments of rows that share an adapter (good for prefill, where a
request's many tokens are adjacent). Both compute the same thing as a per-row loop.

Stacks: ``lora_a`` ``[num_loras, rank, in]``, ``lora_b`` ``[num_loras, out, rank]``. An index of
``-1`` means "no adapter".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

NO_LORA = -1


@dataclass(frozen=True)
class Segment:
    """Rows ``start..end-1`` of the batch all use ``adapter`` (``-1``: none)."""

    start: int
    end: int
    adapter: int


def bgmv(x: torch.Tensor, weights: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Per-row gathered matmul: ``out[t] = weights[indices[t]] @ x[t]`` (zero where -1)."""
    active = indices != NO_LORA
    chosen = weights[torch.where(active, indices, torch.zeros_like(indices))]
    out = torch.einsum("ti,toi->to", x, chosen)
    return out * active.unsqueeze(-1).to(out.dtype)


def lora_segments(indices: Sequence[int]) -> list[Segment]:
    """Maximal runs of equal adapter index, in batch order."""
    segments: list[Segment] = []
    start = 0
    for i in range(1, len(indices) + 1):
        if i == len(indices) or indices[i] != indices[start]:
            segments.append(Segment(start, i, int(indices[start])))
            start = i
    return segments


def sgmv(x: torch.Tensor, weights: torch.Tensor, segments: Sequence[Segment]) -> torch.Tensor:
    """Segmented matmul: one ordinary GEMM per run of rows sharing an adapter."""
    out = torch.zeros(x.shape[0], weights.shape[1], dtype=x.dtype)
    for seg in segments:
        if seg.adapter != NO_LORA:
            out[seg.start : seg.end] = x[seg.start : seg.end] @ weights[seg.adapter].T
    return out


def lora_linear(
    x: torch.Tensor,
    base_w: torch.Tensor,
    lora_a: torch.Tensor,
    lora_b: torch.Tensor,
    indices: torch.Tensor,
    scaling: float,
) -> torch.Tensor:
    """``x @ base_wᵀ`` plus each row's adapter delta, via shrink (A) then expand (B)."""
    shrunk = bgmv(x, lora_a, indices)
    return x @ base_w.T + scaling * bgmv(shrunk, lora_b, indices)
