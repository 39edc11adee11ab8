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


SPEC = {"num_speculative_tokens": 3, "prompt_lookup_min": 1, "prompt_lookup_max": 2}


def _engine(model_dir: Path, rich: bool) -> LLMEngine:
    args = EngineArgs(
        str(model_dir),
        block_size=BS,
        num_kv_blocks=30,
        max_model_len=96,
        max_num_batched_tokens=BUDGET,
        max_num_seqs=MAX_SEQS,
        long_prefill_token_threshold=12,
        speculative_config=SPEC if rich else None,
    )
    return LLMEngine(args.create_engine_config())


def _random_params(rng: random.Random, rich: bool) -> SamplingParams:
    return SamplingParams(
        n=rng.choice([1, 1, 2, 3]) if rich else 1,
        temperature=rng.choice([0.0, 0.7, 1.3]),
        top_k=rng.choice([0, 5]),
        top_p=rng.choice([1.0, 0.8]),
        max_tokens=rng.randrange(1, 30),
        stop_token_ids=rng.choice([(), (rng.randrange(3, 320),)]),
        repetition_penalty=rng.choice([1.0, 1.0, 1.0, 1.3] if rich else [1.0, 1.3]),
        seed=rng.choice([None, rng.randrange(1000)]),
        logprobs=rng.choice([None, 2]),
    )


def _random_prompt(rng: random.Random, shared: list[int], rich: bool) -> list[int]:
    tail = [rng.randrange(3, 320) for _ in range(rng.randrange(1, 40 if not rich else 12))]
    if rich:
        tail = tail * rng.randrange(1, 4)  # repeated phrases give the n-gram proposer matches
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
    """Every live request (or sample of one) is in exactly one of waiting/running; nothing else is."""
    sched = engine.scheduler
    waiting = [r.request_id for r in sched.waiting]
    running = [r.request_id for r in sched.running]
    assert len(waiting) + len(running) == len(set(waiting) | set(running))
    assert set(waiting) | set(running) == set(sched.requests)
    parents = {rid: parent for parent, kids in engine._children.items() for rid in kids}
    assert {parents.get(rid, rid) for rid in sched.requests} <= live
    assert len(running) + sum(len(r.fork_children) for r in sched.running) <= MAX_SEQS


def _check_tables(engine: LLMEngine, so: SchedulerOutput, tables: dict[str, list[int]]) -> None:
    """A request's block ids never change while it holds them, except a copy-on-write of a shared block."""
    copies = set(so.kv_copies)
    for rid in so.preempted_req_ids:
        tables.pop(rid, None)
    for rid, ids in zip(so.req_ids, so.block_ids):
        old = tables.get(rid, [])
        for before, after in zip(old, ids):
            assert before == after or (before, after) in copies, rid
        tables[rid] = list(ids)


@pytest.mark.parametrize(("seed", "rich"), [(0, False), (1, False), (2, True), (3, True)])
def test_invariants_hold_after_every_step(tiny_llama_dir: Path, seed: int, rich: bool) -> None:
    """Random arrivals, params and aborts (rich: n > 1 samples and n-gram drafts too) keep every invariant."""
    rng = random.Random(seed)
    engine = _engine(tiny_llama_dir, rich)
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
            live.add(engine.add_request(_random_prompt(rng, shared, rich), _random_params(rng, rich)))
            added += 1
        if live and rng.random() < 0.03:
            victim = rng.choice(sorted(live))
            for out in engine.abort_request([victim]):
                # n > 1: one output per aborted sample; only the last one finishes the request.
                finished[out.request_id] += out.finished
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
    if rich:
        assert any(so.forks for so in steps) and any(so.kv_copies for so in steps)
        stats = engine.spec_decoding_stats
        assert stats.num_draft_tokens > 50 and stats.num_accepted_tokens > 0
    assert engine.scheduler.kv_cache_manager.block_pool.get_num_free_blocks() == 29
