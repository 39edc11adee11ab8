"""Turn a packed grammar bitmask into masked logits."""

from __future__ import annotations

import torch

_BIT = torch.arange(32, dtype=torch.int32)


def unpack_bitmask(bitmask: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """``[R, ceil(V / 32)]`` int32 (bit ``t % 32`` of word ``t // 32``) → ``[R, V]`` bool."""
    bits = (bitmask.unsqueeze(-1) >> _BIT.to(bitmask.device)) & 1
    return bits.flatten(1)[:, :vocab_size].bool()


# upstream: vllm/v1/structured_output/utils.py:44 — apply_grammar_bitmask()
def apply_grammar_bitmask(logits: torch.Tensor, bitmask: torch.Tensor) -> torch.Tensor:
    """Set the logits of tokens the grammar forbids to minus infinity.

    Args:
        logits: ``[R, V]``, one row per sampling position.
        bitmask: ``[R, W]`` packed masks for the same rows (all bits set for
            unconstrained rows).

    Raises:
        RuntimeError: If a row allows no token at all. Sampling from such a
            row would silently return an arbitrary token (softmax of all
            minus infinity), so it is an engine error, never a user one.
    """
    allowed = unpack_bitmask(bitmask, logits.shape[-1])
    empty = ~allowed.any(dim=-1)
    if bool(empty.any()):
        raise RuntimeError(f"grammar mask leaves no allowed token in rows {empty.nonzero().flatten().tolist()}")
    return logits.masked_fill(~allowed, float("-inf"))
