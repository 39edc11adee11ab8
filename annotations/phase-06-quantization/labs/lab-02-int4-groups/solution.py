"""Lab 06.02: 4-bit weights with a scale and a zero point per group of columns.

Sixteen levels are too few for a whole row: one outlier would stretch the step for every
weight. So each row is cut into groups (128 columns in AWQ/GPTQ checkpoints), and each group
gets its own scale and zero point (asymmetric: the 16 levels cover ``[min, max]`` of the group,
stretched to include 0). Two 4-bit codes share a byte, which is where the 4x memory saving over fp16 comes from
(minus the per-group scales).
"""

from __future__ import annotations

import torch

LEVELS = 15


def pack_int4(q: torch.Tensor) -> torch.Tensor:
    """Pack codes in ``[0, 15]`` two per byte: even column low nibble, odd column high nibble."""
    q = q.to(torch.uint8)
    return q[..., 0::2] | (q[..., 1::2] << 4)


def unpack_int4(packed: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`pack_int4`: uint8 codes, twice as many columns."""
    low = packed & 0xF
    high = packed >> 4
    return torch.stack((low, high), dim=-1).flatten(-2)


def quantize_int4(
    w: torch.Tensor, group_size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Asymmetric 4-bit quantisation of ``w`` ``[rows, cols]`` in groups of columns.

    Returns:
        ``(packed, scales, zeros)``: uint8 ``[rows, cols / 2]``, float32 and uint8 ``[rows, groups]``.
    """
    rows, cols = w.shape
    if cols % group_size or group_size % 2:
        raise ValueError(f"{cols} columns cannot be split into even groups of {group_size}")
    groups = w.float().view(rows, cols // group_size, group_size)
    # The range always includes 0, so the zero point is a valid code and 0.0 is exact.
    lo = groups.amin(dim=-1).clamp(max=0.0)
    hi = groups.amax(dim=-1).clamp(min=0.0)
    scales = torch.where(hi > lo, (hi - lo) / LEVELS, torch.ones_like(lo))
    zeros = torch.round(-lo / scales).clamp(0, LEVELS)
    q = (torch.round(groups / scales[..., None]) + zeros[..., None]).clamp(0, LEVELS)
    return pack_int4(q.view(rows, cols)), scales, zeros.to(torch.uint8)


def dequantize_int4(
    packed: torch.Tensor, scales: torch.Tensor, zeros: torch.Tensor, group_size: int
) -> torch.Tensor:
    """Float32 weights back from codes, per-group scales and zero points."""
    q = unpack_int4(packed).float()
    rows, cols = q.shape
    groups = q.view(rows, cols // group_size, group_size)
    w = (groups - zeros.float()[..., None]) * scales[..., None]
    return w.view(rows, cols)


def int4_linear(
    x: torch.Tensor, packed: torch.Tensor, scales: torch.Tensor, zeros: torch.Tensor, group_size: int
) -> torch.Tensor:
    """``x @ Wᵀ`` with a 4-bit weight (dequantised on the fly, as a weight-only kernel does)."""
    return x @ dequantize_int4(packed, scales, zeros, group_size).T
