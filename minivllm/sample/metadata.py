"""Per-step sampling parameters of the whole batch, as tensors."""

from __future__ import annotations

from dataclasses import dataclass

import torch


# upstream: vllm/v1/sample/metadata.py:15 — SamplingMetadata
@dataclass(frozen=True)
class SamplingMetadata:
    """Row ``i`` of every tensor belongs to the ``i``-th request that samples.

    Optional tensors are None when no row uses the feature, so the common
    case (say, all greedy) skips the work entirely.

    Attributes:
        temperature: ``[R]``, 0 for greedy rows.
        all_greedy: No row samples randomly.
        top_k: ``[R]`` (0 = off) or None.
        top_p: ``[R]`` (1 = off) or None.
        min_p: ``[R]`` (0 = off) or None.
        generators: Row → the request's own generator (seeded requests only).
        max_num_logprobs: Largest ``logprobs`` asked by any row, or None.
        prompt_mask: ``[R, V]`` tokens present in each prompt, or None
            when no row has penalties.
        output_counts: ``[R, V]`` occurrences in each output, or None.
        repetition_penalties: ``[R]`` or None.
        presence_penalties: ``[R]`` or None.
        frequency_penalties: ``[R]`` or None.
        blocked_tokens: ``[R, V]`` True for tokens that may not be sampled yet
            (stop tokens before ``min_tokens``), or None.
    """

    temperature: torch.Tensor
    all_greedy: bool
    top_k: torch.Tensor | None = None
    top_p: torch.Tensor | None = None
    min_p: torch.Tensor | None = None
    generators: dict[int, torch.Generator] | None = None
    max_num_logprobs: int | None = None
    prompt_mask: torch.Tensor | None = None
    output_counts: torch.Tensor | None = None
    repetition_penalties: torch.Tensor | None = None
    presence_penalties: torch.Tensor | None = None
    frequency_penalties: torch.Tensor | None = None
    blocked_tokens: torch.Tensor | None = None
