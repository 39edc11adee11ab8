"""Tests for minivllm.core.sched.scheduler (with a fake model: no tensors)."""

from __future__ import annotations

import pytest

from minivllm.config import SchedulerConfig
from minivllm.core.kv_cache_manager import KVCacheManager
from minivllm.core.kv_cache_utils import get_request_block_hasher
from minivllm.core.sched.output import SchedulerOutput
from minivllm.core.sched.scheduler import Scheduler
from minivllm.detokenizer import IncrementalDetokenizer
from minivllm.outputs import ModelRunnerOutput
from minivllm.request import FinishReason, Request, RequestStatus
from minivllm.sampling_params import SamplingParams
from minivllm.tokenizer import ByteTokenizer

BS = 4


def _scheduler(num_blocks: int = 64, **cfg: object) -> Scheduler:
    config = SchedulerConfig(**{"max_num_batched_tokens": 64, "max_model_len": 128, **cfg})
    return Scheduler(config, KVCacheManager(num_blocks, BS))


def _req(rid: str, n: int, first: int = 10, **params: object) -> Request:
    tok = ByteTokenizer(eos_token_id=2)
    return Request(
        rid,
        [first + (i % 50) for i in range(n)],
        SamplingParams(**params),
        eos_token_id=2,
        block_hasher=get_request_block_hasher(BS),
        detokenizer=IncrementalDetokenizer(tok),
    )


def _fake_run(so: SchedulerOutput, token: int = 65) -> ModelRunnerOutput:
    """Sample ``token`` for every request whose scheduled tokens reach its end."""
    sampled = tuple(
        (token,) if start + n == r.num_tokens else ()
        for r, start, n in zip(so.requests, so.num_computed_tokens, so.num_scheduled_tokens)
    )
    return ModelRunnerOutput(so.req_ids, sampled, (None,) * len(sampled))


def _step(s: Scheduler, token: int = 65):
    so = s.schedule()
    return so, s.update_from_output(so, _fake_run(so, token))


def test_running_requests_are_scheduled_before_waiting_ones() -> None:
    """A decode of a running request comes first; new prompts fill the rest of the budget."""
    s = _scheduler(max_num_batched_tokens=16)
    s.add_request(_req("a", 8, max_tokens=5))
    _step(s)
    s.add_request(_req("b", 30, max_tokens=5))
    so, _ = _step(s)
    assert so.req_ids == ("a", "b")
    assert so.num_scheduled_tokens == (1, 15)


def test_chunked_prefill_splits_prompt_under_budget() -> None:
    """A prompt longer than the budget is computed in budget-sized chunks, then sampled once."""
    s = _scheduler(max_num_batched_tokens=16)
    s.add_request(_req("a", 40, max_tokens=3))
    chunks, outputs = [], []
    for _ in range(3):
        so, out = _step(s)
        chunks.append(so.num_scheduled_tokens[0])
        outputs.append(out)
    assert chunks == [16, 16, 8]
    assert [len(o) for o in outputs] == [0, 0, 1]


def test_long_prefill_threshold_caps_each_request() -> None:
    """The per-request cap leaves budget for a second prompt in the same step."""
    s = _scheduler(max_num_batched_tokens=32, long_prefill_token_threshold=12)
    s.add_request(_req("a", 40))
    s.add_request(_req("b", 40, first=100))
    so = s.schedule()
    assert so.num_scheduled_tokens == (12, 12)


def test_without_chunked_prefill_a_prompt_waits_for_a_whole_budget() -> None:
    """With chunking off, a prompt that does not fit the remaining budget waits."""
    s = _scheduler(max_num_batched_tokens=128, enable_chunked_prefill=False)
    s.add_request(_req("a", 100))
    s.add_request(_req("b", 100, first=100))
    so = s.schedule()
    assert so.req_ids == ("a",)


def test_max_num_seqs_limits_running_requests() -> None:
    """No more than max_num_seqs requests run at once."""
    s = _scheduler(max_num_seqs=2)
    for i in range(4):
        s.add_request(_req(str(i), 4))
    so, _ = _step(s)
    assert len(so.requests) == 2 and len(s.running) == 2 and len(s.waiting) == 2


def test_preemption_requeues_last_running_request_at_front() -> None:
    """When blocks run out, the newest running request is preempted: no blocks, front of queue."""
    s = _scheduler(num_blocks=6, max_num_batched_tokens=64)
    s.add_request(_req("a", 8, max_tokens=12, ignore_eos=True))
    s.add_request(_req("b", 8, max_tokens=12, ignore_eos=True, first=100))
    for _ in range(10):
        so, _ = _step(s)
        if so.preempted_req_ids:
            break
    assert so.preempted_req_ids == {"b"}
    assert [r.request_id for r in s.running] == ["a"]
    b = s.waiting[0]
    assert b.request_id == "b" and b.status == RequestStatus.PREEMPTED
    assert b.num_computed_tokens == 0 and s.kv_cache_manager.get_block_ids("b") == []
    assert "b" not in so.req_ids


def test_preempted_request_resumes_with_all_its_tokens() -> None:
    """After preemption the request recomputes prompt + output and keeps generating."""
    s = _scheduler(num_blocks=6, max_num_batched_tokens=64)
    a = _req("a", 8, max_tokens=12, ignore_eos=True)
    b = _req("b", 8, max_tokens=12, ignore_eos=True, first=100)
    s.add_request(a)
    s.add_request(b)
    while s.has_unfinished_requests():
        _step(s)
    assert b.num_preemptions >= 1
    assert a.num_output_tokens == 12 and b.num_output_tokens == 12
    assert a.get_finished_reason() == b.get_finished_reason() == FinishReason.LENGTH


def test_max_tokens_finishes_with_length() -> None:
    """A request stops after max_tokens tokens, its blocks freed."""
    s = _scheduler()
    s.add_request(_req("a", 5, max_tokens=3))
    outs = [o for _ in range(3) for o in _step(s)[1]]
    assert outs[-1].finish_reason == FinishReason.LENGTH
    assert s.kv_cache_manager.block_pool.get_num_free_blocks() == 63
    assert not s.has_unfinished_requests()


def test_eos_stops_unless_ignored_or_before_min_tokens() -> None:
    """EOS finishes with "stop", except with ignore_eos or before min_tokens."""
    for params, expect_done in [({}, True), ({"ignore_eos": True}, False), ({"min_tokens": 2}, False)]:
        s = _scheduler()
        s.add_request(_req("a", 5, max_tokens=5, **params))
        (out,) = _step(s, token=2)[1]
        assert out.finished is expect_done, params
        if expect_done:
            assert out.finish_reason == FinishReason.STOP and out.stop_reason is None


def test_stop_token_ids_record_stop_reason() -> None:
    """A stop token finishes the request and is reported as the stop reason."""
    s = _scheduler()
    s.add_request(_req("a", 5, stop_token_ids=[65]))
    (out,) = _step(s)[1]
    assert out.finish_reason == FinishReason.STOP and out.stop_reason == 65


def test_stop_string_truncates_text() -> None:
    """A stop string ends generation and is cut from the text."""
    s = _scheduler()
    req = _req("a", 5, max_tokens=10, stop=["BC"])
    s.add_request(req)
    for token in (ord("A"), ord("B"), ord("C")):
        _, outs = _step(s, token)
    assert outs[0].finish_reason == FinishReason.STOP and outs[0].stop_reason == "BC"
    assert req.detokenizer is not None and req.detokenizer.output_text == "A"


def test_max_model_len_caps_generation() -> None:
    """A request never grows past max_model_len, whatever max_tokens says."""
    s = _scheduler(max_model_len=10)
    req = _req("a", 8, max_tokens=50, ignore_eos=True)
    s.add_request(req)
    while s.has_unfinished_requests():
        _step(s)
    assert req.num_tokens == 10 and req.get_finished_reason() == FinishReason.LENGTH


def test_abort_frees_blocks_and_reports_finished() -> None:
    """Aborting a running and a waiting request frees blocks and lists both as finished."""
    s = _scheduler(max_num_seqs=1)
    s.add_request(_req("a", 8))
    s.add_request(_req("b", 8))
    s.schedule()
    s.finish_requests(["a", "b"], RequestStatus.FINISHED_ABORTED)
    assert not s.has_unfinished_requests()
    assert s.kv_cache_manager.block_pool.get_num_free_blocks() == 63
    assert s.schedule().finished_req_ids == frozenset({"a", "b"})


def test_prefix_cache_hit_skips_shared_prompt_tokens() -> None:
    """A request sharing a cached prefix schedules only its uncached tail."""
    s = _scheduler()
    s.add_request(_req("a", 20))
    _step(s)
    s.add_request(_req("b", 20))
    so, _ = _step(s)
    assert dict(zip(so.req_ids, so.num_scheduled_tokens))["b"] == 4
    assert s.requests["b"].num_cached_tokens == 16
    assert s.num_prompt_tokens_cached == 16


def test_request_too_large_for_the_pool_raises_instead_of_spinning() -> None:
    """A lone request that cannot fit the pool is an error, not an endless loop."""
    s = _scheduler(num_blocks=3)
    s.add_request(_req("a", 8, max_tokens=20, ignore_eos=True))
    with pytest.raises(RuntimeError, match="does not fit"):
        for _ in range(20):
            _step(s)


def _decode_ready(s: Scheduler, req: Request) -> None:
    """Admit ``req`` and run its prefill so that it is decoding."""
    s.add_request(req)
    _step(s)
    assert req.num_computed_tokens == req.num_tokens - 1


def test_drafts_ride_with_the_last_token_and_rejected_ones_roll_back() -> None:
    """k drafts are scheduled after the newest token; rejected ones leave num_computed_tokens."""
    s = _scheduler()
    a = _req("a", 6, max_tokens=20)
    _decode_ready(s, a)
    s.update_draft_token_ids({"a": [7, 8, 9]})
    so = s.schedule()
    assert so.num_scheduled_tokens == (4,) and so.spec_tokens(0) == (7, 8, 9)
    assert a.spec_token_ids == [] and a.num_computed_tokens == 10
    # The model accepted 7, rejected 8 and emitted 11 instead: two tokens.
    s.update_from_output(so, ModelRunnerOutput(so.req_ids, ((7, 11),), (None,)))
    assert a.output_token_ids == [65, 7, 11]
    assert a.num_computed_tokens == a.num_tokens - 1 == 8
    stats = s.spec_decoding_stats
    assert (stats.num_drafts, stats.num_draft_tokens, stats.num_accepted_tokens) == (1, 3, 1)


def test_budget_cuts_drafts_first() -> None:
    """With little budget left, a request keeps its real token and only the drafts that fit."""
    s = _scheduler(max_num_batched_tokens=3)
    a = _req("a", 2, max_tokens=20)
    _decode_ready(s, a)
    s.update_draft_token_ids({"a": [7, 8, 9, 10]})
    so = s.schedule()
    assert so.num_scheduled_tokens == (3,) and so.spec_tokens(0) == (7, 8)


def test_preemption_discards_drafts() -> None:
    """A preempted request recomputes from scratch and forgets its drafts."""
    s = _scheduler()
    a = _req("a", 6, max_tokens=20)
    _decode_ready(s, a)
    a.spec_token_ids = [1, 2]
    s._preempt_request(s.running.pop())
    assert a.spec_token_ids == [] and a.num_computed_tokens == 0


def _family(n: int, prompt_len: int, **params: object) -> list[Request]:
    samples = [_req(f"{i}_p", prompt_len, **params) for i in range(n)]
    samples[0].fork_children = samples[1:]
    return samples


def test_samples_fork_when_the_prompt_completes() -> None:
    """Pending samples join only in the step that finishes the prompt, sharing its blocks."""
    s = _scheduler(max_num_batched_tokens=8)
    leader, _b, _c = _family(3, 10, max_tokens=5)
    s.add_request(leader)
    first, _ = _step(s)
    assert first.forks == () and set(s.requests) == {"0_p"}
    so = s.schedule()
    assert [(i, child.request_id) for i, child in so.forks] == [(0, "1_p"), (0, "2_p")]
    assert s.kv_cache_manager.get_block_ids("1_p") == s.kv_cache_manager.get_block_ids("0_p")
    assert [r.request_id for r in s.running] == ["0_p", "1_p", "2_p"]
    out = s.update_from_output(so, ModelRunnerOutput(("0_p", "1_p", "2_p"), ((5,), (6,), (7,)), (None,) * 3))
    assert [o.new_token_ids for o in out] == [(5,), (6,), (7,)]
    nxt = s.schedule()
    assert len(nxt.kv_copies) == 2, "two of three samples copy the shared partial block"


def test_pending_samples_count_as_seats() -> None:
    """A request with n samples is admitted only if all n fit under max_num_seqs."""
    s = _scheduler(max_num_seqs=3)
    s.add_request(_req("x", 4, max_tokens=5))
    s.add_request(_family(3, 4, max_tokens=5)[0])
    so = s.schedule()
    assert so.req_ids == ("x",)


def test_aborted_leader_hands_pending_samples_on() -> None:
    """Aborting only the sample being prefilled lets the next sample take over the prompt."""
    s = _scheduler(max_num_batched_tokens=4)
    leader, b, c = _family(3, 10, max_tokens=5)
    s.add_request(leader)
    _step(s)
    s.finish_requests(["0_p"], RequestStatus.FINISHED_ABORTED)
    assert [r.request_id for r in s.waiting] == ["1_p"] and b.fork_children == [c]
    s.finish_requests(["2_p"], RequestStatus.FINISHED_ABORTED)
    assert b.fork_children == [] and c.status == RequestStatus.FINISHED_ABORTED
    assert s.kv_cache_manager.block_pool.get_usage() == 0.0


def test_max_loras_limits_adapters_among_running_requests() -> None:
    """A request with a new adapter waits while max_loras others are running."""
    from minivllm.lora.request import LoRARequest

    config = SchedulerConfig(max_num_batched_tokens=64, max_model_len=128)
    s = Scheduler(config, KVCacheManager(64, BS), max_loras=1)
    one, two = LoRARequest("one", 1, "/x"), LoRARequest("two", 2, "/y")
    reqs = [_req("a", 4, max_tokens=2), _req("b", 4, max_tokens=2), _req("c", 4, max_tokens=2)]
    for r, lora in zip(reqs, [one, one, two]):
        r.lora_request = lora
        s.add_request(r)
    assert s.schedule().req_ids == ("a", "b")
