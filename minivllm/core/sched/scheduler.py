"""Continuous batching: pick each step's tokens under one budget.

There is no separate "prefill phase" and "decode phase". Every request just
has tokens whose KV is not computed yet (a whole prompt, a chunk of it, or
one freshly sampled token); a step takes as many of those as the budget
allows, running requests first, then waiting ones.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable

from minivllm.config import SchedulerConfig
from minivllm.core.kv_cache_manager import KVCacheManager
from minivllm.core.sched.output import SchedulerOutput
from minivllm.core.sched.utils import check_stop, check_stop_strings
from minivllm.outputs import EngineCoreOutput, ModelRunnerOutput
from minivllm.request import Request, RequestStatus


# upstream: vllm/v1/core/sched/scheduler.py:64 — Scheduler
class Scheduler:
    """First-come-first-served scheduler with chunked prefill and preemption.

    Args:
        config: Budget and limits.
        kv_cache_manager: Where blocks come from.
    """

    # upstream: vllm/v1/core/sched/scheduler.py:65 — Scheduler.__init__()
    def __init__(self, config: SchedulerConfig, kv_cache_manager: KVCacheManager) -> None:
        self.config = config
        self.kv_cache_manager = kv_cache_manager
        self.requests: dict[str, Request] = {}
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []
        self.finished_req_ids: set[str] = set()
        self.num_prompt_tokens_computed = 0
        self.num_prompt_tokens_cached = 0

    # upstream: vllm/v1/core/sched/scheduler.py:1755 — Scheduler.add_request()
    def add_request(self, request: Request) -> None:
        """Queue a new request at the back of the waiting queue."""
        if request.num_tokens >= self.config.max_model_len:
            raise ValueError(
                f"request {request.request_id}: prompt of {request.num_tokens} tokens "
                f"leaves no room under max_model_len={self.config.max_model_len}"
            )
        self.requests[request.request_id] = request
        self.waiting.append(request)

    # upstream: vllm/v1/core/sched/scheduler.py:329 — Scheduler.schedule()
    def schedule(self) -> SchedulerOutput:
        """Choose this step's requests and token counts, allocating their blocks."""
        scheduled: list[tuple[Request, int]] = []
        preempted: list[Request] = []
        budget = self._schedule_running(self.config.max_num_batched_tokens, scheduled, preempted)
        if not preempted:
            self._schedule_waiting(budget, scheduled)
        starts = tuple(r.num_computed_tokens for r, _ in scheduled)
        for request, n in scheduled:
            self._count_prompt_tokens(request, n)
            request.num_computed_tokens += n
        output = SchedulerOutput(
            requests=tuple(r for r, _ in scheduled),
            num_scheduled_tokens=tuple(n for _, n in scheduled),
            num_computed_tokens=starts,
            block_ids=tuple(
                tuple(self.kv_cache_manager.get_block_ids(r.request_id)) for r, _ in scheduled
            ),
            preempted_req_ids=frozenset(r.request_id for r in preempted),
            finished_req_ids=frozenset(self.finished_req_ids),
        )
        self.finished_req_ids = set()
        return output

    def _schedule_running(
        self, budget: int, scheduled: list[tuple[Request, int]], preempted: list[Request]
    ) -> int:
        """Give running requests their next tokens, preempting from the back if needed."""
        i = 0
        while i < len(self.running) and budget > 0:
            request = self.running[i]
            n = self._num_new_tokens(request, budget)
            while (new_blocks := self.kv_cache_manager.allocate_slots(request, n)) is None:
                victim = self.running.pop()
                self._preempt_request(victim)
                preempted.append(victim)
                if victim is request:
                    break
            if new_blocks is None:
                if not self.running:
                    raise RuntimeError(
                        f"request {request.request_id} alone does not fit the KV cache "
                        f"({request.num_tokens} tokens); give the engine more blocks"
                    )
                break
            scheduled.append((request, n))
            budget -= n
            i += 1
        return budget

    def _schedule_waiting(self, budget: int, scheduled: list[tuple[Request, int]]) -> None:
        """Admit waiting requests in order while budget, seats and blocks last."""
        while self.waiting and budget > 0 and len(self.running) < self.config.max_num_seqs:
            request = self.waiting[0]
            hit_blocks, num_hit = self.kv_cache_manager.get_computed_blocks(request)
            n = self._num_new_tokens(request, budget, num_hit)
            if not self.config.enable_chunked_prefill and num_hit + n < request.num_tokens:
                break
            new_blocks = self.kv_cache_manager.allocate_slots(request, n, num_hit, hit_blocks)
            if new_blocks is None:
                break
            self.waiting.popleft()
            self.running.append(request)
            request.status = RequestStatus.RUNNING
            request.num_computed_tokens = num_hit
            if request.num_cached_tokens < 0:
                request.num_cached_tokens = num_hit
            self.num_prompt_tokens_cached += min(num_hit, request.num_prompt_tokens)
            scheduled.append((request, n))
            budget -= n

    def _num_new_tokens(self, request: Request, budget: int, num_hit: int = 0) -> int:
        """Uncomputed tokens of ``request``, cut to the per-request cap and budget."""
        n = request.num_tokens - request.num_computed_tokens - num_hit
        cap = self.config.long_prefill_token_threshold
        if cap > 0:
            n = min(n, cap)
        return min(n, budget)

    def _count_prompt_tokens(self, request: Request, n: int) -> None:
        """Tally prompt tokens actually computed (recomputation included)."""
        start = request.num_computed_tokens
        self.num_prompt_tokens_computed += max(0, min(start + n, request.num_prompt_tokens) - start)

    # upstream: vllm/v1/core/sched/scheduler.py:929 — Scheduler._preempt_request()
    def _preempt_request(self, request: Request) -> None:
        """Free all of a request's blocks and requeue it at the front.

        Recompute rather than swap: its tokens are kept, so it resumes by
        prefilling prompt + output again, often mostly from the prefix cache.
        """
        self.kv_cache_manager.free(request)
        request.status = RequestStatus.PREEMPTED
        request.num_computed_tokens = 0
        request.num_preemptions += 1
        self.waiting.appendleft(request)

    # upstream: vllm/v1/core/sched/scheduler.py:1283 — Scheduler.update_from_output()
    def update_from_output(
        self, scheduler_output: SchedulerOutput, runner_output: ModelRunnerOutput
    ) -> list[EngineCoreOutput]:
        """Append sampled tokens, finish requests that stop, report what changed."""
        outputs: list[EngineCoreOutput] = []
        now = time.monotonic()
        for request, token_ids, logprobs in zip(
            scheduler_output.requests, runner_output.sampled_token_ids, runner_output.logprobs
        ):
            if not token_ids or request.is_finished():
                continue
            kept = self._update_request_with_output(request, token_ids)
            new_logprobs = logprobs[: len(kept)] if logprobs is not None else None
            if new_logprobs is not None:
                request.output_logprobs.extend(new_logprobs)
            if request.first_token_time is None:
                request.first_token_time = now
            if request.is_finished():
                self._free_request(request)
            outputs.append(
                EngineCoreOutput(
                    request.request_id,
                    tuple(kept),
                    new_logprobs,
                    request.get_finished_reason(),
                    request.stop_reason,
                )
            )
        if any(o.finished for o in outputs):
            self.running = [r for r in self.running if not r.is_finished()]
        return outputs

    # upstream: vllm/v1/core/sched/scheduler.py:1649 — Scheduler._update_request_with_output()
    def _update_request_with_output(self, request: Request, token_ids: Iterable[int]) -> list[int]:
        """Append tokens one by one until one of them stops the request."""
        kept: list[int] = []
        for token_id in token_ids:
            request.append_output_token_ids((token_id,))
            kept.append(token_id)
            new_text = request.detokenizer.update((token_id,)) if request.detokenizer else ""
            if check_stop_strings(request, new_text):
                break
            if check_stop(request, self.config.max_model_len):
                if request.detokenizer is not None:
                    request.detokenizer.flush()
                break
        return kept

    # upstream: vllm/v1/core/sched/scheduler.py:1779 — Scheduler.finish_requests()
    def finish_requests(self, request_ids: Iterable[str], status: RequestStatus) -> None:
        """Finish requests from outside (abort), wherever they are queued."""
        targets = {rid for rid in request_ids if rid in self.requests}
        if not targets:
            return
        self.running = [r for r in self.running if r.request_id not in targets]
        self.waiting = deque(r for r in self.waiting if r.request_id not in targets)
        for rid in targets:
            request = self.requests[rid]
            request.status = status
            self._free_request(request)

    # upstream: vllm/v1/core/sched/scheduler.py:1842 — Scheduler._free_request()
    def _free_request(self, request: Request) -> None:
        """Return a finished request's blocks and forget it."""
        self.kv_cache_manager.free(request)
        self.finished_req_ids.add(request.request_id)
        del self.requests[request.request_id]

    # upstream: vllm/v1/core/sched/scheduler.py:1872 — Scheduler.get_num_unfinished_requests()
    def get_num_unfinished_requests(self) -> int:
        """Requests waiting or running."""
        return len(self.waiting) + len(self.running)

    def has_unfinished_requests(self) -> bool:
        """Whether another step has work to do."""
        return self.get_num_unfinished_requests() > 0
