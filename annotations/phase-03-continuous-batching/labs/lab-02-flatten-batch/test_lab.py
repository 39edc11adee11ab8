"""Lab 03.02 tests: the flattened batch has the right tokens, positions, slots and logits rows."""

from __future__ import annotations

import random

import torch

from minivllm.core.sched.output import SchedulerOutput
from minivllm.request import Request
from minivllm.sampling_params import SamplingParams

from annotator.labs import load_impl

impl = load_impl(__file__)

BS = 4


def req(rid: str, tokens: list[int]) -> Request:
    """A plain request with the given prompt."""
    return Request(rid, tokens, SamplingParams())


def hand_batch() -> SchedulerOutput:
    """r0 decodes its 8th token; r1 prefills 5 of 9 prompt tokens; r2 finishes its 7-token prompt."""
    r0, r1, r2 = req("r0", list(range(100, 108))), req("r1", list(range(200, 209))), req("r2", list(range(300, 307)))
    return SchedulerOutput(
        requests=(r0, r1, r2),
        num_scheduled_tokens=(1, 5, 3),
        num_computed_tokens=(7, 0, 4),
        block_ids=((3, 9), (5, 6, 7), (11, 2)),
    )


def test_hand_worked_batch():
    """Token ids, positions, sampling requests and logits rows of a mixed batch."""
    inputs = impl.prepare_inputs(hand_batch(), BS)
    assert inputs.input_ids.tolist() == [107, 200, 201, 202, 203, 204, 304, 305, 306]
    assert inputs.positions.tolist() == [7, 0, 1, 2, 3, 4, 4, 5, 6]
    assert list(inputs.sampling_rows) == [0, 2]
    assert inputs.logits_indices.tolist() == [0, 8]
    md = inputs.attn_metadata
    assert md.seq_lens.tolist() == [8, 5, 7] and md.query_start_loc.tolist() == [0, 1, 6, 9]


def test_positions_equal_a_token_loop():
    """compute_positions equals a per-token loop over random ragged batches."""
    rng = random.Random(0)
    for _ in range(50):
        n = rng.randint(1, 6)
        starts = [rng.randint(0, 30) for _ in range(n)]
        lens = [rng.randint(1, 9) for _ in range(n)]
        expected = [s + j for s, q in zip(starts, lens) for j in range(q)]
        assert impl.compute_positions(starts, lens).tolist() == expected


def test_slots_follow_each_requests_table():
    """Every token's slot is in its own request's block for its position."""
    so = hand_batch()
    inputs = impl.prepare_inputs(so, BS)
    slots = inputs.attn_metadata.slot_mapping.tolist()
    expected = []
    for table, start, n in zip(so.block_ids, so.num_computed_tokens, so.num_scheduled_tokens):
        expected += [table[p // BS] * BS + p % BS for p in range(start, start + n)]
    assert slots == expected
    assert torch.is_tensor(inputs.positions)
