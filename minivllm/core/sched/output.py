"""What the scheduler decided for one step, handed to the model runner."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from minivllm.request import Request


# upstream: vllm/v1/core/sched/output.py:181 — SchedulerOutput
@dataclass(frozen=True)
class SchedulerOutput:
    """One step's batch: which requests, how many tokens each, where their KV lives.

    The tuples are aligned: entry ``i`` of each describes the ``i``-th
    request of the flattened batch.

    Attributes:
        requests: Scheduled requests, running ones first, then new ones.
        num_scheduled_tokens: Tokens to compute for each request this step.
        num_computed_tokens: Tokens each request had computed before this
            step, i.e. the position of its first scheduled token.
        block_ids: Each request's block table after this step's allocation.
        preempted_req_ids: Requests pushed back to the waiting queue.
        finished_req_ids: Requests that finished since the previous step (the
            runner drops their per-request state).
        scheduled_spec_decode_tokens: Per request, the draft tokens scheduled
            after its real tokens (empty tuple, or all empty, when none).
        forks: ``(index into requests, child)`` pairs: samples of an ``n > 1``
            request whose prompt finishes this step; each child samples its
            first token from the parent's logits and shares its blocks.
        kv_copies: ``(source, destination)`` block copies to perform before
            the forward pass (copy-on-write of shared partial blocks).
        grammar_bitmask: Packed token masks, one row per sampling position
            (``k + 1`` per sampling request, in batch order), or None.
    """

    requests: tuple[Request, ...]
    num_scheduled_tokens: tuple[int, ...]
    num_computed_tokens: tuple[int, ...]
    block_ids: tuple[tuple[int, ...], ...]
    preempted_req_ids: frozenset[str] = frozenset()
    finished_req_ids: frozenset[str] = frozenset()
    scheduled_spec_decode_tokens: tuple[tuple[int, ...], ...] = ()
    forks: tuple[tuple[int, Request], ...] = ()
    kv_copies: tuple[tuple[int, int], ...] = ()
    grammar_bitmask: torch.Tensor | None = None

    def spec_tokens(self, index: int) -> tuple[int, ...]:
        """Drafts scheduled for the ``index``-th request (empty if none)."""
        drafts = self.scheduled_spec_decode_tokens
        return drafts[index] if drafts else ()

    @property
    def req_ids(self) -> tuple[str, ...]:
        """Ids of the scheduled requests, in batch order."""
        return tuple(r.request_id for r in self.requests)

    @property
    def total_num_scheduled_tokens(self) -> int:
        """Length of the flattened batch."""
        return sum(self.num_scheduled_tokens)
