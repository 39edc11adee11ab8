"""Lab 03.05 tests: update_from_output appends, stops mid-batch, frees once, and reports finishes."""

from __future__ import annotations

from minivllm.config import SchedulerConfig
from minivllm.core.kv_cache_manager import KVCacheManager
from minivllm.core.kv_cache_utils import get_request_block_hasher
from minivllm.outputs import Logprob, ModelRunnerOutput
from minivllm.request import FinishReason, Request
from minivllm.sampling_params import SamplingParams

from annotator.labs import load_impl

impl = load_impl(__file__)

BS, EOS = 4, 99


def setup(blocks: int = 32, **cfg):
    """A scheduler over a fresh KV-cache manager."""
    return impl.Scheduler(SchedulerConfig(**cfg), KVCacheManager(blocks, BS))


def request(rid: str, prompt: list[int], max_tokens: int = 8) -> Request:
    """A greedy request with EOS id 99."""
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens)
    return Request(rid, prompt, params, eos_token_id=EOS, block_hasher=get_request_block_hasher(BS))


def output(so, tokens: dict[str, tuple[int, ...]], logprobs=None) -> ModelRunnerOutput:
    """A runner output sampling the given tokens (empty for requests not listed)."""
    sampled = tuple(tokens.get(rid, ()) for rid in so.req_ids)
    lps = tuple((logprobs or {}).get(rid) for rid in so.req_ids)
    return ModelRunnerOutput(so.req_ids, sampled, lps)


def test_stop_in_the_middle_of_several_tokens():
    """Tokens (5, EOS, 7) in one step: 5 and EOS kept, 7 dropped, reason stop, logprobs cut to 2."""
    s = setup()
    r = request("r", [1, 2, 3])
    s.add_request(r)
    so = s.schedule()
    lps = tuple({t: Logprob(-0.1, 1)} for t in (5, EOS, 7))
    (out,) = s.update_from_output(so, output(so, {"r": (5, EOS, 7)}, {"r": lps}))
    assert out.new_token_ids == (5, EOS) and r.output_token_ids == [5, EOS]
    assert out.finish_reason == FinishReason.STOP and len(out.new_logprobs) == 2


def test_finished_request_is_freed_and_reported_once():
    """Blocks return to the pool, the request leaves running, and the next step reports it once."""
    s = setup()
    s.add_request(request("a", [1, 2, 3, 4, 5], max_tokens=1))
    s.add_request(request("b", [6, 7, 8]))
    free_before = s.kv_cache_manager.block_pool.get_num_free_blocks()
    so = s.schedule()
    outs = s.update_from_output(so, output(so, {"a": (11,), "b": (12,)}))
    assert {o.request_id: o.finished for o in outs} == {"a": True, "b": False}
    assert s.kv_cache_manager.get_block_ids("a") == [] and "a" not in s.requests
    assert [r.request_id for r in s.running] == ["b"]
    assert s.kv_cache_manager.block_pool.get_num_free_blocks() == free_before - 1
    assert s.schedule().finished_req_ids == {"a"}
    assert s.schedule().finished_req_ids == frozenset()


def test_mid_prompt_chunk_produces_no_output():
    """A chunk that does not reach the prompt's end samples nothing and yields no output."""
    s = setup(max_num_batched_tokens=4)
    r = request("r", list(range(1, 11)))
    s.add_request(r)
    so = s.schedule()
    assert s.update_from_output(so, output(so, {})) == []
    assert r.output_token_ids == [] and not r.is_finished()


def toy_next(tokens: list[int]) -> int:
    """A deterministic 'model'; emits EOS when the history sums to a multiple of 11."""
    return EOS if sum(tokens) % 11 == 0 else (sum(tokens[-2:]) * 3 + len(tokens)) % 40 + 1


def alone(prompt: list[int], max_tokens: int) -> list[int]:
    """The toy model's tokens for one request on its own, EOS included."""
    tokens = list(prompt)
    while len(tokens) - len(prompt) < max_tokens:
        tokens.append(toy_next(tokens))
        if tokens[-1] == EOS:
            break
    return tokens[len(prompt) :]


def test_batch_to_completion_matches_alone():
    """Eight requests to completion: tokens equal generating alone; each finishes exactly once."""
    s = setup(blocks=64, max_num_batched_tokens=16)
    prompts = {f"r{i}": [(3 * i + j) % 9 + 1 for j in range(2 + i)] for i in range(8)}
    for rid, p in prompts.items():
        s.add_request(request(rid, p, max_tokens=10))
    got = {rid: [] for rid in prompts}
    finished: list[str] = []
    for _ in range(200):
        if not s.has_unfinished_requests():
            break
        so = s.schedule()
        sampled = {
            r.request_id: (toy_next(r.all_token_ids),)
            for r, start, n in zip(so.requests, so.num_computed_tokens, so.num_scheduled_tokens)
            if start + n == r.num_tokens
        }
        for out in s.update_from_output(so, output(so, sampled)):
            got[out.request_id] += out.new_token_ids
            finished += [out.request_id] if out.finished else []
    assert got == {rid: alone(p, 10) for rid, p in prompts.items()}
    assert sorted(finished) == sorted(prompts)


def test_rejected_drafts_are_rolled_back():
    """Two drafts, the first accepted: the computed count keeps the accepted draft only."""
    s = setup()
    r = request("r", [1, 2, 3, 4, 5])
    s.add_request(r)
    so = s.schedule()
    s.update_from_output(so, output(so, {"r": (6,)}))
    r.spec_token_ids = [7, 8]
    so = s.schedule()
    assert so.spec_tokens(0) == (7, 8) and r.num_computed_tokens == 8
    (out,) = s.update_from_output(so, output(so, {"r": (7, 30)}))  # 7 accepted, 8 rejected, 30 the bonus
    assert out.new_token_ids == (7, 30)
    assert r.num_computed_tokens == 7 and r.num_tokens == 8
