"""Lab 18.02: count the work and the traffic of a Llama-style forward pass.

A step's time is bounded below by two things: arithmetic (FLOPs / peak FLOP rate) and memory
traffic (bytes / bandwidth). Prefill does thousands of FLOPs per weight it reads and is
compute-bound; a decode step of a small batch reads every weight to do ~2 FLOPs per weight per
sequence and is memory-bound — which is why batching decode is nearly free until the
*critical batch*, and why quantising weights speeds decode up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelShape:
    """The numbers that set the cost of a Llama-style decoder."""

    vocab: int
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int

    @property
    def num_params(self) -> int:
        """Parameters in the matmuls (embedding and LM head untied, norms ignored)."""
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        per_layer = self.hidden * (q + 2 * kv) + q * self.hidden + 3 * self.hidden * self.intermediate
        return self.layers * per_layer + 2 * self.vocab * self.hidden


def forward_flops(shape: ModelShape, num_tokens: int, context_len: int, logits_tokens: int) -> int:
    """Matmul FLOPs to run ``num_tokens`` new tokens after ``context_len`` cached ones.

    Attention is counted as a dense masked computation: each new token scores against all
    ``context_len + num_tokens`` keys (a FlashAttention kernel skips fully masked tiles).
    """
    q, kv = shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    proj = 2 * num_tokens * shape.hidden * (q + 2 * kv) + 2 * num_tokens * q * shape.hidden
    mlp = 2 * num_tokens * shape.hidden * shape.intermediate * 3
    attn = 2 * 2 * shape.heads * shape.head_dim * num_tokens * (context_len + num_tokens)
    lm_head = 2 * logits_tokens * shape.hidden * shape.vocab
    return shape.layers * (proj + mlp + attn) + lm_head


def decode_bytes(shape: ModelShape, batch: int, context_len: int, bytes_per_value: int = 2) -> int:
    """Bytes read by one decode step: all weights once, plus every sequence's KV cache."""
    kv_per_seq = 2 * shape.layers * shape.kv_heads * shape.head_dim * context_len
    return (shape.num_params + batch * kv_per_seq) * bytes_per_value


def roofline_time(flops: float, bytes_moved: float, peak_flops: float, bandwidth: float) -> float:
    """Lower bound on the step time (seconds): the slower of compute and memory."""
    return max(flops / peak_flops, bytes_moved / bandwidth)


def critical_batch(peak_flops: float, bandwidth: float, bytes_per_param: float = 2) -> float:
    """Decode batch size at which weight reads stop being the bottleneck (KV traffic ignored)."""
    return peak_flops * bytes_per_param / (2 * bandwidth)
