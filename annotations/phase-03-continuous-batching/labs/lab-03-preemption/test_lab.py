"""Lab 03.03 tests: preemption frees the newest request, and never changes anyone's tokens."""

from __future__ import annotations

import pytest

from minivllm.config import SchedulerConfig
from minivllm.core.kv_cache_manager import KVCacheManager
from minivllm.core.kv_cache_utils import get_request_block_hasher
from minivllm.outputs import ModelRunnerOutput
from minivllm.request import Request, RequestStatus
from minivllm.sampling_params import SamplingParams

from annotator.labs import load_impl

impl = load_impl(__file__)

BS = 4


def request(rid: str, prompt: list[int], max_tokens: int) -> Request:
    """A greedy request that hashes its blocks."""
    return Request(rid, prompt, SamplingParams(temperature=0.0, max_tokens=max_tokens),
                   block_hasher=get_request_block_hasher(BS))  # fmt: skip


def toy_next(tokens: list[int]) -> int:
    """A deterministic 'model' whose next token depends on the history."""
    return (sum(tokens[-3:]) * 7 + len(tokens)) % 50 + 1


def alone(prompt: list[int], max_tokens: int) -> list[int]:
    """The toy model's output for one request on its own."""
    tokens = list(prompt)
    for _ in range(max_tokens):
        tokens.append(toy_next(tokens))
    return tokens[len(prompt) :]


def step(s):
    """One schedule → toy model → update cycle; returns (scheduler output, engine outputs)."""
    so = s.schedule()
    sampled = tuple(
        (toy_next(r.all_token_ids),) if start + n == r.num_tokens else ()
        for r, start, n in zip(so.requests, so.num_computed_tokens, so.num_scheduled_tokens)
    )
    return so, s.update_from_output(so, ModelRunnerOutput(so.req_ids, sampled, tuple(None for _ in sampled)))


def test_newest_running_request_is_preempted():
    """When growth fails, the last-admitted request is freed, reset and requeued at the front."""
    s = impl.Scheduler(SchedulerConfig(max_num_batched_tokens=64), KVCacheManager(5, BS))  # 4 usable blocks
    s.add_request(request("old", list(range(1, 8)), 10))  # 7 tokens: 2 blocks
    s.add_request(request("new", list(range(20, 28)), 10))  # 8 tokens: 2 blocks, pool now full
    step(s)
    assert [r.request_id for r in s.running] == ["old", "new"]
    so, _ = step(s)  # "new" needs a 3rd block: nothing free → preempt "new" itself
    assert so.preempted_req_ids == {"new"}
    victim = s.waiting[0]
    assert victim.request_id == "new" and victim.status == RequestStatus.PREEMPTED
    assert victim.num_computed_tokens == 0 and victim.num_preemptions == 1
    assert s.kv_cache_manager.get_block_ids("new") == []
    assert [r.request_id for r in s.running] == ["old"]


def test_request_too_big_for_the_pool_raises():
    """A running request that cannot grow even alone is an error, not an endless loop."""
    s = impl.Scheduler(SchedulerConfig(max_num_batched_tokens=64), KVCacheManager(3, BS))  # 2 blocks
    s.add_request(request("r", list(range(1, 8)), 10))
    step(s)
    step(s)  # 8 tokens: still 2 blocks
    with pytest.raises(RuntimeError):
        step(s)


def test_small_pool_run_preempts_but_matches_alone():
    """A 10-request run on a small pool preempts often, yet outputs match and each finishes once."""
    s = impl.Scheduler(SchedulerConfig(max_num_batched_tokens=32, max_num_seqs=6), KVCacheManager(14, BS))
    prompts = {f"r{i}": [(5 * i + j) % 30 + 1 for j in range(4 + 3 * (i % 3))] for i in range(10)}
    for rid, p in prompts.items():
        s.add_request(request(rid, p, 12))
    outputs = {rid: [] for rid in prompts}
    finished: list[str] = []
    preemptions = 0
    for _ in range(500):
        if not s.has_unfinished_requests():
            break
        so, outs = step(s)
        preemptions += len(so.preempted_req_ids)
        assert not {r.request_id for r in s.running} & {r.request_id for r in s.waiting}
        for out in outs:
            outputs[out.request_id] += out.new_token_ids
            if out.finished:
                finished.append(out.request_id)
    assert preemptions > 0
    assert sorted(finished) == sorted(prompts)
    assert outputs == {rid: alone(p, 12) for rid, p in prompts.items()}


def _squeezed_with_a_waiting_request():
    """old and new fill the pool; late waits behind them; the next step must preempt new."""
    s = impl.Scheduler(SchedulerConfig(max_num_batched_tokens=64), KVCacheManager(5, BS))  # 4 usable blocks
    s.add_request(request("old", list(range(1, 8)), 10))
    s.add_request(request("new", list(range(20, 28)), 10))
    step(s)
    s.add_request(request("late", list(range(40, 44)), 10))
    return s


def test_victim_goes_back_to_the_front_of_a_nonempty_queue():
    """The preempted request resumes before requests that arrived after it."""
    s = _squeezed_with_a_waiting_request()
    so, _ = step(s)
    assert so.preempted_req_ids == {"new"}
    assert [r.request_id for r in s.waiting] == ["new", "late"]


def test_preemption_drops_the_victims_drafts():
    """Drafts proposed for the victim are discarded: after recomputation its context has changed."""
    s = _squeezed_with_a_waiting_request()
    victim = s.running[-1]
    victim.spec_token_ids = [3, 4]
    so, _ = step(s)
    assert so.preempted_req_ids == {"new"}
    assert victim.spec_token_ids == []
