"""Tests for minivllm.engine.llm_engine: invariants after every step of a long random run."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from minivllm.config import EngineArgs
from minivllm.core.kv_cache_utils import is_queued
from minivllm.core.sched.output import SchedulerOutput
from minivllm.engine.llm_engine import LLMEngine
from minivllm.sampling_params import SamplingParams

BUDGET, MAX_SEQS, BS = 20, 6, 4


def _engine(model_dir: Path) -> LLMEngine:
    args = EngineArgs(
        str(model_dir),
        block_size=BS,
        num_kv_blocks=30,
        max_model_len=96,
        max_num_batched_tokens=BUDGET,
        max_num_seqs=MAX_SEQS,
        long_prefill_token_threshold=12,
    )
    return LLMEngine(args.create_engine_config())


def _random_params(rng: random.Random) -> SamplingParams:
    return SamplingParams(
        temperature=rng.choice([0.0, 0.7, 1.3]),
        top_k=rng.choice([0, 5]),
        top_p=rng.choice([1.0, 0.8]),
        max_tokens=rng.randrange(1, 30),
        stop_token_ids=rng.choice([(), (rng.randrange(3, 320),)]),
        repetition_penalty=rng.choice([1.0, 1.3]),
        seed=rng.choice([None, rng.randrange(1000)]),
        logprobs=rng.choice([None, 2]),
    )


def _random_prompt(rng: random.Random, shared: list[int]) -> list[int]:
    tail = [rng.randrange(3, 320) for _ in range(rng.randrange(1, 40))]
    return (shared[: rng.randrange(0, len(shared) + 1)] if rng.random() < 0.6 else []) + tail


def _check_blocks(engine: LLMEngine) -> None:
    """Free queue ⇔ ref 0; ref counts = table occurrences; only full, correctly hashed blocks cached."""
    mgr = engine.scheduler.kv_cache_manager
    pool = mgr.block_pool
    occurrences = Counter(b.block_id for blocks in mgr.req_to_blocks.values() for b in blocks)
    for block in pool.blocks[1:]:
        assert is_queued(block) == (block.ref_cnt == 0), block
        assert block.ref_cnt == occurrences[block.block_id], block
    assert pool.get_num_free_blocks() == len(pool.free_block_queue.get_all_free_blocks())
    for block_hash, block in pool.cached_block_hash_to_block.items():
        assert block.block_hash == block_hash
    for rid, blocks in mgr.req_to_blocks.items():
        req = engine.scheduler.requests[rid]
        for i, block in enumerate(blocks):
            if block.block_hash is not None:
                assert (i + 1) * BS <= req.num_computed_tokens, (rid, i)
                assert block.block_hash == req.block_hashes[i], (rid, i)


def _check_queues(engine: LLMEngine, live: set[str]) -> None:
    """Every live request is in exactly one of waiting/running; nothing else is."""
    sched = engine.scheduler
    waiting = [r.request_id for r in sched.waiting]
    running = [r.request_id for r in sched.running]
    assert len(waiting) + len(running) == len(set(waiting) | set(running))
    assert set(waiting) | set(running) == live == set(sched.requests)
    assert len(running) <= MAX_SEQS


def _check_tables(engine: LLMEngine, so: SchedulerOutput, tables: dict[str, list[int]]) -> None:
    """A request's block ids never change while it holds them (only appended to)."""
    for rid in so.preempted_req_ids:
        tables.pop(rid, None)
    for rid, ids in zip(so.req_ids, so.block_ids):
        old = tables.get(rid, [])
        assert list(ids[: len(old)]) == old, rid
        tables[rid] = list(ids)


@pytest.mark.parametrize("seed", [0, 1])
def test_invariants_hold_after_every_step(tiny_llama_dir: Path, seed: int) -> None:
    """Random arrivals, params and aborts: every step keeps all scheduler/cache invariants."""
    rng = random.Random(seed)
    engine = _engine(tiny_llama_dir)
    shared = [rng.randrange(3, 320) for _ in range(20)]
    steps: list[SchedulerOutput] = []
    schedule = engine.scheduler.schedule
    engine.scheduler.schedule = lambda: steps.append(schedule()) or steps[-1]  # type: ignore[method-assign]
    live: set[str] = set()
    finished: Counter[str] = Counter()
    tables: dict[str, list[int]] = {}
    added = preempted = 0
    while added < 40 or engine.has_unfinished_requests():
        for _ in range(rng.choice([0, 0, 1, 3]) if added < 40 else 0):
            live.add(engine.add_request(_random_prompt(rng, shared), _random_params(rng)))
            added += 1
        if live and rng.random() < 0.03:
            victim = rng.choice(sorted(live))
            for out in engine.abort_request([victim]):
                finished[out.request_id] += 1
            live.discard(victim)
            tables.pop(victim, None)
        for out in engine.step():
            if out.finished:
                finished[out.request_id] += 1
                live.discard(out.request_id)
                tables.pop(out.request_id, None)
        so = steps[-1]
        assert so.total_num_scheduled_tokens <= BUDGET
        assert len(so.requests) <= MAX_SEQS
        preempted += len(so.preempted_req_ids)
        _check_tables(engine, so, tables)
        _check_blocks(engine)
        _check_queues(engine, live)
    assert set(finished) == {str(i) for i in range(added)}
    assert all(n == 1 for n in finished.values())
    assert preempted > 0 and len(steps) > 100
    assert engine.scheduler.kv_cache_manager.block_pool.get_num_free_blocks() == 29
