"""What the scheduler decided for one step, handed to the model runner."""

from __future__ import annotations

from dataclasses import dataclass

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
    """

    requests: tuple[Request, ...]
    num_scheduled_tokens: tuple[int, ...]
    num_computed_tokens: tuple[int, ...]
    block_ids: tuple[tuple[int, ...], ...]
    preempted_req_ids: frozenset[str] = frozenset()
    finished_req_ids: frozenset[str] = frozenset()

    @property
    def req_ids(self) -> tuple[str, ...]:
        """Ids of the scheduled requests, in batch order."""
        return tuple(r.request_id for r in self.requests)

    @property
    def total_num_scheduled_tokens(self) -> int:
        """Length of the flattened batch."""
        return sum(self.num_scheduled_tokens)
