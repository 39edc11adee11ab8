"""Tests for minivllm.core.sched.output."""

from __future__ import annotations

from minivllm.core.sched.output import SchedulerOutput
from minivllm.request import Request
from minivllm.sampling_params import SamplingParams


def test_ids_and_total_follow_the_aligned_tuples() -> None:
    """req_ids and the token total are derived from the per-request tuples."""
    a = Request("a", [1, 2, 3], SamplingParams())
    b = Request("b", [4], SamplingParams())
    so = SchedulerOutput((a, b), (3, 1), (0, 0), ((1,), (2,)))
    assert so.req_ids == ("a", "b")
    assert so.total_num_scheduled_tokens == 4
