"""Lab 03.01 tests: the waiting queue is admitted in order under one token budget and a seat limit."""

from __future__ import annotations

from minivllm.config import SchedulerConfig
from minivllm.core.kv_cache_manager import KVCacheManager
from minivllm.core.kv_cache_utils import get_request_block_hasher
from minivllm.outputs import ModelRunnerOutput
from minivllm.request import Request
from minivllm.sampling_params import SamplingParams

from annotator.labs import load_impl

impl = load_impl(__file__)

BS = 4


def scheduler(blocks: int = 64, **cfg):
    """A scheduler over a fresh KV-cache manager with prefix caching."""
    return impl.Scheduler(SchedulerConfig(**cfg), KVCacheManager(blocks, BS))


def request(rid: str, prompt: list[int], max_tokens: int = 4) -> Request:
    """A greedy request that hashes its blocks."""
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens)
    return Request(rid, prompt, params, block_hasher=get_request_block_hasher(BS))


def toy_next(tokens: list[int]) -> int:
    """A deterministic 'model': the next token depends on the last three and the length."""
    return (sum(tokens[-3:]) * 7 + len(tokens)) % 50 + 1


def alone(prompt: list[int], max_tokens: int) -> list[int]:
    """What a request generates with the toy model, on its own."""
    tokens = list(prompt)
    for _ in range(max_tokens):
        tokens.append(toy_next(tokens))
    return tokens[len(prompt) :]


def run_model(so) -> ModelRunnerOutput:
    """Sample one toy token for every request whose scheduled tokens reach its end."""
    sampled = tuple(
        (toy_next(r.all_token_ids),) if start + n == r.num_tokens else ()
        for r, start, n in zip(so.requests, so.num_computed_tokens, so.num_scheduled_tokens)
    )
    return ModelRunnerOutput(so.req_ids, sampled, tuple(None for _ in sampled))


def scheduled(so) -> dict[str, int]:
    """Request id → tokens scheduled this step."""
    return dict(zip(so.req_ids, so.num_scheduled_tokens))


def test_budget_is_filled_and_never_exceeded():
    """Budget 16 over three 10-token prompts: 10 + 6 (chunked) this step, the third waits."""
    s = scheduler(max_num_batched_tokens=16)
    for i in range(3):
        s.add_request(request(f"r{i}", list(range(10 * i, 10 * i + 10))))
    assert scheduled(s.schedule()) == {"r0": 10, "r1": 6}
    assert [r.request_id for r in s.waiting] == ["r2"]


def test_seat_limit_caps_running_requests():
    """With max_num_seqs=2 the third request waits although budget remains."""
    s = scheduler(max_num_batched_tokens=100, max_num_seqs=2)
    for i in range(3):
        s.add_request(request(f"r{i}", [i + 1] * 5))
    assert set(scheduled(s.schedule())) == {"r0", "r1"}
    assert len(s.running) == 2 and len(s.waiting) == 1


def test_per_request_cap_chunks_prompts():
    """long_prefill_token_threshold=4 gives each new prompt at most 4 tokens per step."""
    s = scheduler(max_num_batched_tokens=100, long_prefill_token_threshold=4)
    s.add_request(request("a", list(range(10))))
    s.add_request(request("b", list(range(20, 26))))
    assert scheduled(s.schedule()) == {"a": 4, "b": 4}
    assert scheduled(s.schedule()) == {"a": 4, "b": 2}


def test_without_chunking_no_overtaking():
    """Chunking off: a prompt that does not fit the remaining budget waits, and so does the one behind it."""
    s = scheduler(blocks=600, max_num_batched_tokens=2048, max_model_len=2048, enable_chunked_prefill=False)
    s.add_request(request("big", list(range(2000))))
    s.add_request(request("next", list(range(5000, 5100))))
    s.add_request(request("small", [1, 2, 3]))
    assert scheduled(s.schedule()) == {"big": 2000}
    assert [r.request_id for r in s.waiting] == ["next", "small"]


def test_prefix_hit_counts_as_computed():
    """A second identical 9-token prompt starts at the 8 cached tokens and schedules 1."""
    s = scheduler(max_num_batched_tokens=64)
    first = request("a", list(range(9)))
    s.add_request(first)
    so = s.schedule()
    s.update_from_output(so, run_model(so))
    s.add_request(request("b", list(range(9))))
    so = s.schedule()
    assert scheduled(so)["b"] == 1
    assert so.num_computed_tokens[so.req_ids.index("b")] == 8


def test_many_requests_respect_limits_and_match_alone():
    """A 12-request run: budget and seats hold every step; every output equals generating alone."""
    s = scheduler(blocks=200, max_num_batched_tokens=24, max_num_seqs=5, long_prefill_token_threshold=10)
    prompts = {f"r{i}": [(i * 13 + j) % 40 + 1 for j in range(3 + 5 * (i % 4))] for i in range(12)}
    for rid, prompt in prompts.items():
        s.add_request(request(rid, prompt, max_tokens=6))
    outputs: dict[str, list[int]] = {rid: [] for rid in prompts}
    for _ in range(200):
        if not s.has_unfinished_requests():
            break
        so = s.schedule()
        assert sum(so.num_scheduled_tokens) <= 24 and len(s.running) <= 5
        for out in s.update_from_output(so, run_model(so)):
            outputs[out.request_id] += out.new_token_ids
    assert outputs == {rid: alone(p, 6) for rid, p in prompts.items()}


def test_head_that_cannot_get_blocks_is_not_overtaken():
    """Chunking on: the head's chunk finds no blocks, so it waits, and the small request behind it waits too."""
    s = scheduler(blocks=9, max_num_batched_tokens=16)  # 8 usable blocks
    s.add_request(request("r0", list(range(1, 17)), max_tokens=8))  # 16 tokens: 4 blocks
    so = s.schedule()
    s.update_from_output(so, run_model(so))
    s.add_request(request("big", list(range(100, 120))))  # its 15-token chunk needs 4 blocks; 3 are free after r0 grows
    s.add_request(request("small", [7, 8, 9]))  # 1 block would fit
    assert scheduled(s.schedule()) == {"r0": 1}
    assert [r.request_id for r in s.waiting] == ["big", "small"]


def test_num_cached_tokens_is_the_first_admissions_hit():
    """A request re-admitted after preemption keeps the prefix-hit count of its first admission."""
    s = scheduler(max_num_batched_tokens=64)
    a = request("a", list(range(9)))
    s.add_request(a)
    so = s.schedule()
    s.update_from_output(so, run_model(so))
    b = request("b", list(range(8)) + list(range(50, 58)))  # shares a's first 2 blocks
    s.add_request(b)
    so = s.schedule()
    assert b.num_cached_tokens == 8
    s.update_from_output(so, run_model(so))
    s.running.remove(b)  # what the running loop does when blocks run out
    s._preempt_request(b)
    so = s.schedule()  # b's own 16 prompt tokens are cached now: a bigger hit this time
    assert so.num_computed_tokens[so.req_ids.index("b")] == 16
    assert b.num_cached_tokens == 8


def _with_samples(rid: str, prompt: list[int], n: int) -> Request:
    """A request with n - 1 pending samples (n > 1) that fork when its prompt is computed."""
    parent = request(rid, prompt)
    parent.fork_children = [request(f"{rid}.{i}", prompt) for i in range(1, n)]
    return parent


def test_seat_limit_counts_the_samples_a_request_will_fork():
    """max_num_seqs=3: an n=2 request takes 2 seats, so a second n=2 request must wait."""
    s = scheduler(max_num_batched_tokens=100, max_num_seqs=3)
    s.add_request(_with_samples("p", [1, 2, 3, 4, 5], 2))
    s.add_request(_with_samples("q", [6, 7, 8, 9, 10], 2))
    assert set(scheduled(s.schedule())) == {"p"}
    assert [r.request_id for r in s.waiting] == ["q"]
