"""Segmented LoRA matmuls: one shrink and one expand per adapter per layer.

The batch's tokens arrive sorted by adapter slot, so every adapter owns one
contiguous segment. "Shrink" projects a segment down to the rank (``x A^T``),
"expand" back up (``h B^T``). Each segment costs two thin matmuls no matter
how many requests (prefills or decodes) share that adapter; that is the SGMV
kernel's idea, written as a loop over segments instead of one GPU launch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


# upstream: vllm/lora/ops/torch_ops/lora_ops.py:50 — sgmv_shrink()
def sgmv_shrink(
    x: torch.Tensor, lora_a_stacked: torch.Tensor, seg_lens: Sequence[int], seg_slots: Sequence[int]
) -> torch.Tensor:
    """``[T, in]`` tokens sorted by slot → ``[T, R]`` low-rank activations.

    Args:
        x: Inputs, segment after segment.
        lora_a_stacked: ``[slots, R, in]`` every slot's (rank-padded) A.
        seg_lens: Tokens per segment.
        seg_slots: Slot of each segment.
    """
    return _segmented_matmul(x, lora_a_stacked, seg_lens, seg_slots)


# upstream: vllm/lora/ops/torch_ops/lora_ops.py:7 — sgmv_expand()
def sgmv_expand(
    h: torch.Tensor, lora_b_stacked: torch.Tensor, seg_lens: Sequence[int], seg_slots: Sequence[int]
) -> torch.Tensor:
    """``[T, R]`` low-rank activations → ``[T, out]`` deltas, segment by segment.

    Args:
        h: Output of ``sgmv_shrink``.
        lora_b_stacked: ``[slots, out, R]`` every slot's B, scaling folded in.
        seg_lens: Tokens per segment.
        seg_slots: Slot of each segment.
    """
    return _segmented_matmul(h, lora_b_stacked, seg_lens, seg_slots)


def _segmented_matmul(
    x: torch.Tensor, stacked: torch.Tensor, seg_lens: Sequence[int], seg_slots: Sequence[int]
) -> torch.Tensor:
    """``x[segment] @ stacked[slot].T`` for each segment, written into one ``[T, out]`` result.

    Shrink and expand differ only in which stacked weights they read.
    """
    out = x.new_empty(x.shape[0], stacked.shape[1])
    start = 0
    for n, slot in zip(seg_lens, seg_slots):
        torch.matmul(x[start : start + n], stacked[slot].T, out=out[start : start + n])
        start += n
    return out
