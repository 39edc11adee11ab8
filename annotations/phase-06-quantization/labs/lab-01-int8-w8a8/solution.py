"""Lab 06.01: W8A8 — int8 weights and activations, int32 accumulation, float epilogue.

Symmetric int8 stores ``round(x / s)`` in ``[-127, 127]`` with one float scale ``s`` per row. For
``y = x Wᵀ`` both operands are quantised along the reduction dimension's *other* axis — one scale
per activation row (per token, computed on the fly) and one per weight row (per output
channel, computed once) — so the scales factor out of every dot product: the GEMM runs entirely
in integers and a cheap epilogue multiplies by ``s_x[i] · s_w[j]``.
"""

from __future__ import annotations

import torch

QMAX = 127


def quantize_int8(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantise each row of the 2-D ``x`` symmetrically to int8.

    Returns:
        ``(q, scale)``: ``q`` int8 like ``x``; ``scale`` float32 ``[rows]``.
    """
    amax = x.abs().amax(dim=-1).float()
    scale = torch.where(amax > 0, amax / QMAX, torch.ones_like(amax))
    q = torch.round(x.float() / scale[:, None]).clamp(-QMAX, QMAX).to(torch.int8)
    return q, scale


def dequantize(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Back to float32: each row times its scale."""
    return q.float() * scale[:, None]


def int8_scaled_mm(
    x_q: torch.Tensor, x_scale: torch.Tensor, w_q: torch.Tensor, w_scale: torch.Tensor
) -> torch.Tensor:
    """``dequantize(x_q) @ dequantize(w_q).T`` computed as an integer GEMM plus scales.

    Products of two int8 values need 15 bits and a sum over ``k`` of them ``15 + log2(k)`` bits,
    so the accumulator must be int32 (as on tensor cores), never int8 or int16.
    """
    acc = x_q.to(torch.int32) @ w_q.to(torch.int32).T
    return acc.float() * x_scale[:, None] * w_scale[None, :]


def w8a8_linear(x: torch.Tensor, w_q: torch.Tensor, w_scale: torch.Tensor) -> torch.Tensor:
    """A linear layer with pre-quantised weights: quantise tokens on the fly, then the int GEMM."""
    x_q, x_scale = quantize_int8(x)
    return int8_scaled_mm(x_q, x_scale, w_q, w_scale)
