"""Continuous batching: pick each step's tokens under one budget.

There is no separate "prefill phase" and "decode phase". Every request just
has tokens whose KV is not computed yet (a whole prompt, a chunk of it, or
one freshly sampled token); a step takes as many of those as the budget
allows, running requests first, then waiting ones.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

import torch

from minivllm.config import SchedulerConfig
from minivllm.core.kv_cache_manager import KVCacheManager
from minivllm.core.sched.forks import drop_pending, fork_pending
from minivllm.core.sched.output import SchedulerOutput
from minivllm.core.sched.utils import check_stop, check_stop_strings
from minivllm.outputs import EngineCoreOutput, ModelRunnerOutput
from minivllm.request import Request, RequestStatus
from minivllm.spec_decode.metrics import SpecDecodingStats
from minivllm.structured_output.manager import StructuredOutputManager


# upstream: vllm/v1/core/sched/scheduler.py:64 — Scheduler
class Scheduler:
    """First-come-first-served scheduler with chunked prefill and preemption.

    Args:
        config: Budget and limits.
        kv_cache_manager: Where blocks come from.
        structured_output_manager: Builds grammar masks (None: no request
            may carry a constraint).
        max_loras: Distinct adapters allowed among running requests (0 when
            LoRA is off).
    """

    # upstream: vllm/v1/core/sched/scheduler.py:65 — Scheduler.__init__()
    def __init__(
        self,
        config: SchedulerConfig,
        kv_cache_manager: KVCacheManager,
        structured_output_manager: StructuredOutputManager | None = None,
        max_loras: int = 0,
    ) -> None:
        self.config = config
        self.kv_cache_manager = kv_cache_manager
        self.structured_output_manager = structured_output_manager
        self.max_loras = max_loras
        self.spec_decoding_stats = SpecDecodingStats()
        self.requests: dict[str, Request] = {}
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []
        self.finished_req_ids: set[str] = set()
        self.num_prompt_tokens_computed = 0
        self.num_prompt_tokens_cached = 0

    # upstream: vllm/v1/core/sched/scheduler.py:1755 — Scheduler.add_request()
    def add_request(self, request: Request) -> None:
        """Queue a new request at the back of the waiting queue.

        Its ``fork_children`` (other samples of the same prompt) are not
        queued: they join the running list when its prompt is computed.
        """
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
        requests = tuple(r for r, _ in scheduled)
        starts = tuple(r.num_computed_tokens for r in requests)
        drafts = []
        for request, n in scheduled:
            self._count_prompt_tokens(request, n)
            drafts.append(self._take_drafts(request, n))
            request.num_computed_tokens += n
        forks = self._fork_completed_prompts(requests)
        output = SchedulerOutput(
            requests=requests,
            num_scheduled_tokens=tuple(n for _, n in scheduled),
            num_computed_tokens=starts,
            block_ids=tuple(tuple(self.kv_cache_manager.get_block_ids(r.request_id)) for r in requests),
            preempted_req_ids=frozenset(r.request_id for r in preempted),
            finished_req_ids=frozenset(self.finished_req_ids),
            scheduled_spec_decode_tokens=tuple(drafts) if any(drafts) else (),
            forks=forks,
            kv_copies=self.kv_cache_manager.take_pending_copies(),
            grammar_bitmask=self.get_grammar_bitmask(requests, drafts),
        )
        self.finished_req_ids = set()
        return output

    def _take_drafts(self, request: Request, n: int) -> tuple[int, ...]:
        """The drafts that fit in the ``n`` tokens scheduled; the request's list is consumed."""
        k = n - (request.num_tokens - request.num_computed_tokens)
        drafts = tuple(request.spec_token_ids[: max(k, 0)])
        request.spec_token_ids = []
        return drafts

    def _fork_completed_prompts(self, scheduled: Sequence[Request]) -> tuple[tuple[int, Request], ...]:
        """Start the pending samples of every request whose prompt completes this step."""
        forks = []
        for i, request in enumerate(scheduled):
            if request.fork_children and request.num_computed_tokens >= request.num_tokens:
                for child in fork_pending(request, self.kv_cache_manager):
                    self.requests[child.request_id] = child
                    self.running.append(child)
                    forks.append((i, child))
        return tuple(forks)

    # upstream: vllm/v1/core/sched/scheduler.py:1259 — Scheduler.get_grammar_bitmask()
    def get_grammar_bitmask(
        self, scheduled: Sequence[Request], drafts: Sequence[tuple[int, ...]]
    ) -> torch.Tensor | None:
        """Token masks for the step's sampling positions, or None if nothing is constrained."""
        if self.structured_output_manager is None:
            return None
        rows = [
            (request.structured_output_request, d)
            for request, d in zip(scheduled, drafts)
            if request.num_computed_tokens == request.num_tokens + len(d)
        ]
        return self.structured_output_manager.grammar_bitmask(rows)

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
        while self.waiting and budget > 0:
            request = self.waiting[0]
            if self._num_seats_used() + 1 + len(request.fork_children) > self.config.max_num_seqs:
                break
            if not self._lora_fits(request):
                break
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

    def _num_seats_used(self) -> int:
        """Running requests plus the samples they will fork (those seats are promised)."""
        return len(self.running) + sum(len(r.fork_children) for r in self.running)

    def _lora_fits(self, request: Request) -> bool:
        """Whether admitting ``request`` keeps the running adapters within ``max_loras``."""
        if request.lora_request is None:
            return True
        active = {r.lora_request.lora_int_id for r in self.running if r.lora_request is not None}
        return request.lora_request.lora_int_id in active or len(active) < self.max_loras

    def _num_new_tokens(self, request: Request, budget: int, num_hit: int = 0) -> int:
        """Uncomputed tokens (drafts included), cut to the per-request cap and budget."""
        n = request.num_tokens_with_spec - request.num_computed_tokens - num_hit
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
        request.spec_token_ids = []
        request.num_preemptions += 1
        self.waiting.appendleft(request)

    # upstream: vllm/v1/core/sched/scheduler.py:1283 — Scheduler.update_from_output()
    def update_from_output(
        self, scheduler_output: SchedulerOutput, runner_output: ModelRunnerOutput
    ) -> list[EngineCoreOutput]:
        """Append sampled tokens, finish requests that stop, report what changed."""
        outputs: list[EngineCoreOutput] = []
        now = time.monotonic()
        so = scheduler_output
        requests = so.requests + tuple(child for _, child in so.forks)
        drafts = [so.spec_tokens(i) for i in range(len(so.requests))] + [()] * len(so.forks)
        for request, draft, token_ids, logprobs in zip(
            requests, drafts, runner_output.sampled_token_ids, runner_output.logprobs
        ):
            if not token_ids or request.is_finished():
                continue
            if draft:
                self._rollback_rejected(request, len(draft), len(token_ids) - 1)
            kept = self._update_request_with_output(request, token_ids)
            self._advance_grammar(request, kept)
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

    def _rollback_rejected(self, request: Request, num_drafts: int, num_accepted: int) -> None:
        """Forget the KV of rejected drafts: their slots are rewritten before anyone reads them.

        The step computed KV for the last real token and every draft; only
        the accepted drafts stay real tokens. Moving ``num_computed_tokens``
        back is the whole rollback: attention reads positions below it only,
        and the next steps overwrite the stale slots in order.
        """
        # upstream: vllm/v1/core/sched/scheduler.py:1381 — rejected drafts rewind num_computed_tokens
        request.num_computed_tokens -= num_drafts - num_accepted
        self.spec_decoding_stats = self.spec_decoding_stats.observe_draft(num_drafts, num_accepted)

    def _advance_grammar(self, request: Request, token_ids: Sequence[int]) -> None:
        """Feed the kept tokens to the request's grammar (they were sampled under its mask)."""
        so = request.structured_output_request
        if so is None or so.grammar is None or so.grammar.is_terminated() or not token_ids:
            return
        if not so.grammar.accept_tokens(request.request_id, token_ids):
            raise RuntimeError(f"request {request.request_id}: grammar refused tokens sampled under its own mask")

    # upstream: vllm/v1/core/sched/scheduler.py:1691 — Scheduler.update_draft_token_ids()
    def update_draft_token_ids(self, draft_token_ids: Mapping[str, Sequence[int]]) -> None:
        """Attach the proposer's drafts to their requests for the next step.

        A constrained request keeps only the drafts its grammar accepts: the
        others would be masked out at verification anyway.
        """
        for request_id, drafts in draft_token_ids.items():
            request = self.requests.get(request_id)
            if request is None or request.is_finished():
                continue
            so = request.structured_output_request
            if drafts and so is not None and so.grammar is not None:
                drafts = [] if so.grammar.is_terminated() else so.grammar.validate_tokens(drafts)
            request.spec_token_ids = list(drafts)

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
        request_ids = set(request_ids)
        finished, heirs = drop_pending([*self.running, *self.waiting], request_ids, status)
        self.finished_req_ids.update(finished)
        for heir in heirs:
            self.requests[heir.request_id] = heir
            self.waiting.append(heir)
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
