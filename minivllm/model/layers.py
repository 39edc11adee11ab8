"""Building blocks of a Llama-style decoder, one small module each.

Every layer works on a flattened batch: activations are ``[num_tokens,
...]`` with tokens of different requests side by side, because a step mixes
prompts being prefilled with sequences being decoded.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


# upstream: vllm/model_executor/layers/layernorm.py:38 — RMSNorm
class RMSNorm(nn.Module):
    """Root-mean-square normalisation with a learned per-channel gain."""

    def __init__(self, hidden_size: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.eps = eps

    # upstream: vllm/model_executor/layers/layernorm.py:82 — RMSNorm.forward_native()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scale each token's vector to unit RMS, then apply the gain.

        Statistics are taken in float32 even for low-precision inputs: the
        mean of squares loses too much in half precision.
        """
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


# upstream: vllm/model_executor/layers/activation.py:118 — SiluAndMul
class SiluAndMul(nn.Module):
    """SwiGLU's gate: ``silu(gate) * up`` from one fused ``[gate | up]`` tensor."""

    # upstream: vllm/model_executor/layers/activation.py:138 — SiluAndMul.forward_native()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Split the last dimension in half and gate the second half by the first."""
        gate, up = x.chunk(2, dim=-1)
        return F.silu(gate) * up


# upstream: vllm/model_executor/layers/rotary_embedding/base.py:118 — RotaryEmbedding
class RotaryEmbedding(nn.Module):
    """Rotary position embedding, "rotate half" (GPT-NeoX) layout as in Llama.

    cos/sin for every position are computed once; a step just indexes them by
    each token's position, which is what lets one batch hold tokens at
    unrelated positions.
    """

    def __init__(self, head_dim: int, max_position: int, base: float) -> None:
        super().__init__()
        self.head_dim = head_dim
        exponents = torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim
        inv_freq = 1.0 / (base**exponents)
        angles = torch.outer(torch.arange(max_position, dtype=torch.float32), inv_freq)
        self.register_buffer("cos_cache", angles.cos(), persistent=False)
        self.register_buffer("sin_cache", angles.sin(), persistent=False)

    # upstream: vllm/model_executor/layers/rotary_embedding/base.py:182 — RotaryEmbedding.forward_native()
    def forward(
        self, positions: torch.Tensor, q: torch.Tensor, k: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotate ``q`` ``[T, heads, D]`` and ``k`` ``[T, kv_heads, D]`` by position."""
        cos = self.cos_cache[positions].unsqueeze(1)
        sin = self.sin_cache[positions].unsqueeze(1)
        return _rotate(q, cos, sin), _rotate(k, cos, sin)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the pairs (x[i], x[i + D/2]) by the given angles."""
    x1, x2 = x.float().chunk(2, dim=-1)
    out = torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)
    return out.to(x.dtype)


# upstream: vllm/model_executor/layers/linear.py:975 — QKVParallelLinear
class FusedLinear(nn.Linear):
    """Several projections of the same input stacked into one matmul.

    Checkpoints store q/k/v (or gate/up) as separate tensors; one wide
    matmul is cheaper than three narrow ones, so the loader copies each
    checkpoint tensor into its row range here.

    Args:
        in_features: Input width.
        shard_sizes: Output width of each part, in order (e.g. q, k, v).
        bias: Whether the projections have biases.
    """

    def __init__(self, in_features: int, shard_sizes: dict[str, int], bias: bool = False) -> None:
        super().__init__(in_features, sum(shard_sizes.values()), bias=bias)
        self.shard_offsets: dict[str, tuple[int, int]] = {}
        start = 0
        for name, size in shard_sizes.items():
            self.shard_offsets[name] = (start, size)
            start += size

    # upstream: vllm/model_executor/layers/linear.py:1185 — QKVParallelLinear.weight_loader()
    def load_shard(self, param: nn.Parameter, shard: str, loaded: torch.Tensor) -> None:
        """Copy one checkpoint tensor into its rows of ``param`` (weight or bias)."""
        start, size = self.shard_offsets[shard]
        if loaded.shape[0] != size or loaded.shape[1:] != param.shape[1:]:
            raise ValueError(
                f"shard {shard!r}: checkpoint shape {tuple(loaded.shape)} does not fit "
                f"rows {start}:{start + size} of {tuple(param.shape)}"
            )
        with torch.no_grad():
            param[start : start + size].copy_(loaded)
