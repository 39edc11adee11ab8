"""State the runner keeps per request across steps, and the sampling tensors built from it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from minivllm.request import Request
from minivllm.sample.metadata import SamplingMetadata


# upstream: vllm/v1/worker/gpu_input_batch.py:34 — CachedRequestState
class CachedRequestState:
    """A request's sampling state that must survive from step to step.

    The generator carries a seeded request's random stream. Token counts for
    penalties are updated incrementally from the tokens appended since the
    last step, so they cost O(new tokens) per step rather than O(output).
    """

    def __init__(self, request: Request, vocab_size: int, device: torch.device | str = "cpu") -> None:
        params = request.sampling_params
        self.generator: torch.Generator | None = None
        if params.seed is not None:
            # On a GPU the generator lives there too: the noise is drawn where the logits are.
            self.generator = torch.Generator(device=device).manual_seed(params.seed)
        self.output_counts: torch.Tensor | None = None
        self.prompt_mask: torch.Tensor | None = None
        self.num_counted = 0
        if params.has_penalties:
            self.output_counts = torch.zeros(vocab_size)
            self.prompt_mask = torch.zeros(vocab_size, dtype=torch.bool)
            self.prompt_mask[torch.tensor(request.prompt_token_ids)] = True

    def sync_counts(self, request: Request) -> None:
        """Fold output tokens appended since the last call into the counts."""
        if self.output_counts is None:
            return
        new = request.output_token_ids[self.num_counted :]
        if new:
            self.output_counts.index_add_(0, torch.tensor(new), torch.ones(len(new)))
            self.num_counted += len(new)


def _stack_or_fill(rows: list[torch.Tensor | None], like: torch.Tensor) -> torch.Tensor:
    """Stack per-row tensors, using zeros for rows that have none."""
    zero = torch.zeros_like(like)
    return torch.stack([zero if r is None else r for r in rows])


# upstream: vllm/v1/worker/gpu_input_batch.py:831 — InputBatch._make_sampling_metadata()
def make_sampling_metadata(
    requests: Sequence[Request], states: Sequence[CachedRequestState], vocab_size: int
) -> SamplingMetadata:
    """Batch the sampling parameters of the requests that sample this step."""
    params = [r.sampling_params for r in requests]
    temperature = torch.tensor([0.0 if p.is_greedy else p.temperature for p in params])
    generators = {i: s.generator for i, s in enumerate(states) if s.generator is not None}
    logprob_counts = [p.logprobs for p in params if p.logprobs is not None]
    return SamplingMetadata(
        temperature=temperature,
        all_greedy=bool((temperature == 0).all()),
        top_k=torch.tensor([p.top_k for p in params]) if any(p.top_k > 0 for p in params) else None,
        top_p=torch.tensor([p.top_p for p in params]) if any(p.top_p < 1 for p in params) else None,
        min_p=torch.tensor([p.min_p for p in params]) if any(p.min_p > 0 for p in params) else None,
        generators=generators,
        max_num_logprobs=max(logprob_counts) if logprob_counts else None,
        blocked_tokens=_blocked_tokens(requests, vocab_size),
        **_penalty_fields(requests, states),
    )


def _penalty_fields(
    requests: Sequence[Request], states: Sequence[CachedRequestState]
) -> dict[str, torch.Tensor]:
    """Penalty tensors for the batch, or nothing when no row has penalties."""
    params = [r.sampling_params for r in requests]
    if not any(p.has_penalties for p in params):
        return {}
    for state, request in zip(states, requests):
        state.sync_counts(request)
    counts = [s.output_counts for s in states]
    masks = [s.prompt_mask for s in states]
    return {
        "output_counts": _stack_or_fill(counts, next(c for c in counts if c is not None)),
        "prompt_mask": _stack_or_fill(masks, next(m for m in masks if m is not None)),
        "repetition_penalties": torch.tensor([p.repetition_penalty for p in params]),
        "presence_penalties": torch.tensor([p.presence_penalty for p in params]),
        "frequency_penalties": torch.tensor([p.frequency_penalty for p in params]),
    }


def _blocked_tokens(requests: Sequence[Request], vocab_size: int) -> torch.Tensor | None:
    """Mask of stop tokens for rows still short of ``min_tokens``."""
    rows = [
        (i, r) for i, r in enumerate(requests)
        if r.num_output_tokens < r.sampling_params.min_tokens
    ]
    if not rows:
        return None
    mask = torch.zeros(len(requests), vocab_size, dtype=torch.bool)
    for i, r in rows:
        stops = list(r.sampling_params.stop_token_ids)
        if r.eos_token_id is not None and not r.sampling_params.ignore_eos:
            stops.append(r.eos_token_id)
        mask[i, stops] = True
    return mask


def expand_for_drafts(md: SamplingMetadata, counts: Sequence[int]) -> SamplingMetadata:
    """Repeat row ``i`` ``counts[i]`` times: the parameters of every draft position.

    Only the truncation parameters are repeated. Requests that carry drafts
    have no penalties and no blocked tokens (``Request.can_speculate``),
    whose values would differ from one draft position to the next.

    Raises:
        ValueError: If ``md`` has penalty or blocked-token rows.
    """
    if md.output_counts is not None or md.blocked_tokens is not None:
        raise ValueError("draft rows cannot carry penalties or blocked tokens")
    idx = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(list(counts), dtype=torch.long))

    def pick(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t[idx]

    return SamplingMetadata(
        temperature=md.temperature[idx],
        all_greedy=md.all_greedy,
        top_k=pick(md.top_k),
        top_p=pick(md.top_p),
        min_p=pick(md.min_p),
    )


def sampling_metadata_to(md: SamplingMetadata, device: torch.device) -> SamplingMetadata:
    """The same metadata with every tensor copied to ``device`` (asynchronously from pinned memory).

    Row parameters are gathered on the host, where the requests are; the
    sampler then runs where the logits are.
    """
    if device.type == "cpu":
        return md
    moved = {
        f.name: getattr(md, f.name).to(device, non_blocking=True)
        for f in dataclasses.fields(md)
        if isinstance(getattr(md, f.name), torch.Tensor)
    }
    return dataclasses.replace(md, **moved)
