"""Parallel sampling (n > 1): one prefill, shared prompt blocks, samples equal to separate requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from minivllm import LLM, SamplingParams
from minivllm.config import EngineArgs
from minivllm.core.kv_cache_utils import cdiv
from minivllm.engine.llm_engine import LLMEngine
from minivllm.engine.parallel_sampling import ParentRequest
from minivllm.outputs import CompletionOutput, RequestMetrics, RequestOutput
from minivllm.sampling_params import RequestOutputKind

BS = 4
PROMPT = [11, 57, 203, 88, 19, 240, 7, 150, 99, 31]  # 10 tokens: 2 full blocks + a partial one


def _out(rid: str, tokens: tuple[int, ...], finished: bool) -> RequestOutput:
    completion = CompletionOutput(0, "", tokens, finish_reason=None)
    return RequestOutput(rid, None, (1,), (completion,), finished, 0, RequestMetrics(0.0, None, 0))


def test_child_params_get_distinct_seeds() -> None:
    """Child i runs with n=1 and seed + i (or no seed when the parent has none)."""
    parent = ParentRequest("r", SamplingParams(n=3, seed=10))
    assert [parent.get_child_info(i) for i in range(3)][2][0] == "2_r"
    assert [parent.get_child_info(i)[1].seed for i in range(3)] == [10, 11, 12]
    assert parent.get_child_info(1)[1].n == 1
    assert ParentRequest("r", SamplingParams(n=2)).get_child_info(1)[1].seed is None


def test_final_only_waits_for_all_samples_in_index_order() -> None:
    """FINAL_ONLY emits once, after the last sample, with completions sorted by index."""
    parent = ParentRequest("r", SamplingParams(n=2, output_kind=RequestOutputKind.FINAL_ONLY))
    assert parent.get_outputs(1, _out("1_r", (4,), True)) is None
    final = parent.get_outputs(0, _out("0_r", (3,), True))
    assert final is not None and final.finished and final.request_id == "r"
    assert [(c.index, c.token_ids) for c in final.outputs] == [(0, (3,)), (1, (4,))]


def test_streaming_passes_samples_through_and_finishes_last() -> None:
    """Streaming kinds forward each sample's output, finished only once all are done."""
    parent = ParentRequest("r", SamplingParams(n=2, output_kind=RequestOutputKind.DELTA))
    first = parent.get_outputs(1, _out("1_r", (4,), True))
    assert first is not None and not first.finished and first.outputs[0].index == 1
    assert parent.get_outputs(0, _out("0_r", (3,), True)).finished


@pytest.fixture(scope="module")
def llm(tiny_llama_dir: Path) -> LLM:
    """A small engine with 4-token blocks and prefix caching off (sharing must come from forking)."""
    return LLM(tiny_llama_dir, block_size=BS, num_kv_blocks=64, max_model_len=64, enable_prefix_caching=False)


def test_seeded_samples_equal_separate_requests(llm: LLM) -> None:
    """Sample i of a seeded n=4 request equals an n=1 request with seed + i (shared KV is right)."""
    params = SamplingParams(temperature=1.0, max_tokens=12, seed=100, ignore_eos=True)
    (together,) = llm.generate([PROMPT], SamplingParams(**{**params.__dict__, "n": 4}))
    alone = llm.generate([PROMPT] * 4, [SamplingParams(**{**params.__dict__, "seed": 100 + i}) for i in range(4)])
    assert [c.index for c in together.outputs] == [0, 1, 2, 3]
    assert [c.token_ids for c in together.outputs] == [o.outputs[0].token_ids for o in alone]
    assert len({c.token_ids for c in together.outputs}) > 1, "samples should differ"


def test_greedy_samples_are_identical(llm: LLM) -> None:
    """With greedy decoding every sample equals the single greedy continuation."""
    (single,) = llm.generate([PROMPT], SamplingParams(temperature=0, max_tokens=8))
    (many,) = llm.generate([PROMPT], SamplingParams(temperature=0, max_tokens=8, n=3))
    assert {c.token_ids for c in many.outputs} == {single.outputs[0].token_ids}


@pytest.mark.parametrize("prompt_len", [10, 8])
def test_memory_is_prompt_once_plus_each_samples_own(tiny_llama_dir: Path, prompt_len: int) -> None:
    """After every step: blocks in use = the prompt's full blocks once + each sample's own blocks."""
    n = 3
    engine = LLMEngine(
        EngineArgs(str(tiny_llama_dir), block_size=BS, num_kv_blocks=64, max_model_len=64,
                   enable_prefix_caching=False).create_engine_config()
    )
    engine.add_request(PROMPT[:prompt_len], SamplingParams(n=n, temperature=1.0, max_tokens=9, ignore_eos=True))
    sched = engine.scheduler
    pool = sched.kv_cache_manager.block_pool
    full = prompt_len // BS
    copies, peak = 0, 0
    schedule = sched.schedule

    def spy():
        nonlocal copies
        so = schedule()
        copies += len(so.kv_copies)
        return so

    sched.schedule = spy  # type: ignore[method-assign]
    while engine.has_unfinished_requests():
        engine.step()
        computed = [r.num_computed_tokens for r in sched.running]
        if len(computed) < n:
            continue
        used = pool.num_blocks - 1 - pool.get_num_free_blocks()
        peak = max(peak, used)
        if max(computed) == prompt_len:
            # Right after the prefill: the prompt exists once, partial block included.
            assert used == cdiv(prompt_len, BS)
        else:
            assert used == full + sum(cdiv(c, BS) - full for c in computed)
        tables = [sched.kv_cache_manager.req_to_blocks[r.request_id] for r in sched.running]
        assert len({tuple(b.block_id for b in t[:full]) for t in tables}) == 1, "full prompt blocks stay shared"
    # The partial last block is copied for every sample but the last one; never when aligned.
    assert copies == (n - 1 if prompt_len % BS else 0)
    # n separate requests would hold the full prompt blocks n times.
    assert peak == n * cdiv(prompt_len + 8, BS) - (n - 1) * full


def test_stream_of_samples_adds_up(llm: LLM) -> None:
    """Streaming an n=2 request yields per-sample deltas that add up to each sample's tokens."""
    params = SamplingParams(temperature=1.0, max_tokens=6, n=2, seed=3, ignore_eos=True)
    got: dict[int, tuple[int, ...]] = {0: (), 1: ()}
    finished = []
    for out in llm.stream([PROMPT], params):
        for c in out.outputs:
            got[c.index] += c.token_ids
        finished.append(out.finished)
    assert finished[-1] and not any(finished[:-1])
    (final,) = llm.generate([PROMPT], params)
    assert got == {c.index: c.token_ids for c in final.outputs}


def test_abort_stops_every_sample(llm: LLM) -> None:
    """Abandoning a stream of an n=3 request frees every sample's blocks, forked or not."""
    stream = llm.stream([PROMPT], SamplingParams(n=3, max_tokens=20, ignore_eos=True))
    next(stream)
    stream.close()
    engine = llm.llm_engine
    assert not engine.has_unfinished_requests()
    assert not engine.output_processor.states
    assert engine.scheduler.kv_cache_manager.block_pool.get_usage() == 0.0
