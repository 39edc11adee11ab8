"""Lab 03.06 tests: the scheduler step, judged only by what the queues, the cache and the outputs show."""

from __future__ import annotations

import random

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


def make(blocks: int = 64, **cfg):
    """A scheduler over a fresh prefix-caching KV-cache manager of ``blocks`` blocks (null included)."""
    return impl.Scheduler(SchedulerConfig(**cfg), KVCacheManager(blocks, BS))


def request(rid: str, prompt: list[int], max_tokens: int = 4, n: int = 1) -> Request:
    """A greedy request that hashes its blocks, with n - 1 samples waiting to fork."""
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens)
    req = Request(rid, prompt, params, block_hasher=get_request_block_hasher(BS))
    req.fork_children = [Request(f"{rid}.{i}", prompt, params, block_hasher=get_request_block_hasher(BS)) for i in range(1, n)]
    return req


def toy_next(tokens: list[int]) -> int:
    """A deterministic 'model': the next token depends on the history."""
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
    sampled += tuple((toy_next(child.all_token_ids),) for _, child in so.forks)
    return so, s.update_from_output(so, ModelRunnerOutput(so.req_ids + tuple(c.request_id for _, c in so.forks), sampled, tuple(None for _ in sampled)))


def ids(queue) -> list[str]:
    """Request ids, in order."""
    return [r.request_id for r in queue]


def scheduled(so) -> dict[str, int]:
    """Request id → tokens scheduled this step."""
    return dict(zip(so.req_ids, so.num_scheduled_tokens))


def test_budget_cap_and_chunking():
    """Budget 16, cap 6: three prompts get 6, 6 and 4 tokens; the computed counts advance."""
    s = make(max_num_batched_tokens=16, long_prefill_token_threshold=6)
    for i in range(3):
        s.add_request(request(f"r{i}", list(range(10 * i + 1, 10 * i + 11))))
    so = s.schedule()
    assert scheduled(so) == {"r0": 6, "r1": 6, "r2": 4}
    assert so.num_computed_tokens == (0, 0, 0)
    assert [r.num_computed_tokens for r in so.requests] == [6, 6, 4]
    assert ids(s.running) == ["r0", "r1", "r2"] and not s.waiting


def test_running_requests_are_served_before_waiting_ones():
    """A decode step serves the running request first, then admits the newcomer with the rest."""
    s = make(max_num_batched_tokens=8)
    s.add_request(request("a", [1, 2, 3, 4, 5]))
    step(s)
    s.add_request(request("b", list(range(20, 40))))
    assert scheduled(s.schedule()) == {"a": 1, "b": 7}


def test_prefix_hit_counts_as_computed():
    """An identical 9-token prompt starts at the 8 cached tokens and records the hit once."""
    s = make()
    s.add_request(request("a", list(range(9))))
    step(s)
    b = request("b", list(range(9)))
    s.add_request(b)
    so = s.schedule()
    assert scheduled(so)["b"] == 1 and so.num_computed_tokens[so.req_ids.index("b")] == 8
    assert b.num_cached_tokens == 8


def test_without_chunking_prompts_run_whole_or_wait():
    """Chunking off: a prompt that does not fit the remaining budget waits, and so does the one behind."""
    s = make(blocks=600, max_num_batched_tokens=2048, max_model_len=2048, enable_chunked_prefill=False)
    s.add_request(request("big", list(range(2000))))
    s.add_request(request("next", list(range(5000, 5100))))
    s.add_request(request("small", [1, 2, 3]))
    assert scheduled(s.schedule()) == {"big": 2000}
    assert ids(s.waiting) == ["next", "small"]


def test_seats_count_running_requests_and_their_samples():
    """max_num_seqs=3: an n=2 request holds 2 seats, so another n=2 request waits; a plain one fits."""
    s = make(max_num_batched_tokens=100, max_num_seqs=3)
    s.add_request(request("p", [1, 2, 3, 4, 5], n=2))
    s.add_request(request("q", [6, 7, 8, 9, 10], n=2))
    assert set(scheduled(s.schedule())) == {"p"}
    assert ids(s.waiting) == ["q"]
    s2 = make(max_num_batched_tokens=100, max_num_seqs=2)
    for i in range(3):
        s2.add_request(request(f"r{i}", [i + 1] * 5))
    assert set(scheduled(s2.schedule())) == {"r0", "r1"} and ids(s2.waiting) == ["r2"]


def test_head_waiting_for_blocks_is_not_overtaken():
    """The head's chunk finds no blocks: it waits, and the small request behind it waits too."""
    s = make(blocks=9, max_num_batched_tokens=16)
    s.add_request(request("r0", list(range(1, 17)), max_tokens=8))
    step(s)
    s.add_request(request("big", list(range(100, 120))))
    s.add_request(request("small", [7, 8, 9]))
    assert scheduled(s.schedule()) == {"r0": 1}
    assert ids(s.waiting) == ["big", "small"]


def _squeezed():
    """old and new fill a 4-block pool; late waits; the next step must preempt new."""
    s = make(blocks=5)
    s.add_request(request("old", list(range(1, 8)), 10))
    s.add_request(request("new", list(range(20, 28)), 10))
    step(s)
    s.add_request(request("late", list(range(40, 44)), 10))
    return s


def test_preemption_frees_the_newest_and_requeues_it_first():
    """new is preempted: blocks freed, computed reset, status PREEMPTED, at the front, before late."""
    s = _squeezed()
    so, _ = step(s)
    assert so.preempted_req_ids == {"new"}
    victim = s.waiting[0]
    assert ids(s.waiting) == ["new", "late"] and ids(s.running) == ["old"]
    assert victim.status == RequestStatus.PREEMPTED and victim.num_computed_tokens == 0
    assert victim.num_preemptions == 1 and s.kv_cache_manager.get_block_ids("new") == []


def test_no_admission_in_a_step_that_preempted():
    """Blocks freed by a preemption are not handed to a waiting request (not even the victim) that step."""
    s = _squeezed()
    so, _ = step(s)
    assert so.req_ids == ("old",)
    s = make(blocks=5, max_num_batched_tokens=8)
    prompt = [1, 2, 3, 4, 5]
    s.add_request(request("old", prompt, 10))
    s.add_request(request("new", prompt + list(range(100, 108)), 10))  # shares old's first block
    step(s)
    s.add_request(request("late", [200, 201], 10))
    so, _ = step(s)  # the victim could fit again on old's shared block: it must still wait a step
    assert so.preempted_req_ids == {"new"} and so.req_ids == ("old",)
    assert ids(s.waiting) == ["new", "late"]


def test_preemption_drops_drafts():
    """The victim's drafts are discarded, and none are scheduled when it resumes."""
    s = _squeezed()
    victim = s.running[-1]
    victim.spec_token_ids = [3, 4]
    step(s)
    assert victim.spec_token_ids == []


def test_num_cached_tokens_is_the_first_admissions_hit():
    """Re-admitted after a preemption with a bigger hit, a request keeps its first hit count."""
    s = make(max_num_batched_tokens=64)
    s.add_request(request("a", list(range(9))))
    step(s)
    b = request("b", list(range(8)) + list(range(50, 58)))
    s.add_request(b)
    step(s)
    assert b.num_cached_tokens == 8
    s.running.remove(b)  # as the running loop does when blocks run out
    s._preempt_request(b)
    so = s.schedule()  # all 16 prompt tokens of b are cached now
    assert so.num_computed_tokens[so.req_ids.index("b")] == 16
    assert b.num_cached_tokens == 8


def test_a_request_that_never_fits_raises():
    """A running request that cannot grow even alone is an error, not an endless loop."""
    s = make(blocks=3)
    s.add_request(request("r", list(range(1, 8)), 10))
    step(s)
    step(s)
    with pytest.raises(RuntimeError):
        step(s)


@pytest.mark.parametrize("seed", range(3))
def test_random_runs_on_a_small_pool_match_alone(seed: int):
    """Random prompts, samples and arrival times on a small pool: limits hold, outputs equal alone."""
    rng = random.Random(seed)
    s = make(blocks=10, max_num_batched_tokens=20, max_num_seqs=5, long_prefill_token_threshold=8)
    prompts = {f"r{i}": [rng.randrange(1, 40) for _ in range(rng.randrange(3, 15))] for i in range(10)}
    arrivals = sorted((rng.randrange(0, 12), rid) for rid in prompts)
    outputs = {rid: [] for rid in prompts}
    preemptions, t = 0, 0
    while arrivals or s.has_unfinished_requests():
        while arrivals and arrivals[0][0] <= t:
            rid = arrivals.pop(0)[1]
            s.add_request(request(rid, prompts[rid], 8))
        so, outs = step(s)
        preemptions += len(so.preempted_req_ids)
        assert sum(so.num_scheduled_tokens) <= 20 and len(s.running) <= 5
        assert not set(ids(s.running)) & set(ids(s.waiting))
        for out in outs:
            outputs[out.request_id] += out.new_token_ids
        t += 1
        assert t < 1000
    assert preemptions > 0
    assert outputs == {rid: alone(p, 8) for rid, p in prompts.items()}
