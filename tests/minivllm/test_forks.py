"""Pending samples of an n > 1 request: forking from the prompt, and surviving an abort."""

from __future__ import annotations

from minivllm.core.kv_cache_manager import KVCacheManager
from minivllm.core.sched.forks import drop_pending, fork_pending
from minivllm.request import Request, RequestStatus
from minivllm.sampling_params import SamplingParams


def _family(n: int) -> list[Request]:
    samples = [Request(f"{i}_r", [5, 6, 7, 8, 9], SamplingParams()) for i in range(n)]
    samples[0].fork_children = samples[1:]
    return samples


def test_fork_pending_shares_blocks_and_starts_samples() -> None:
    """Forked samples run with the prompt computed and the parent's block table."""
    mgr = KVCacheManager(8, 4, enable_caching=False)
    parent, a, b = _family(3)
    mgr.allocate_slots(parent, 5)
    parent.num_computed_tokens = 5
    assert fork_pending(parent, mgr) == [a, b]
    assert parent.fork_children == []
    assert all(c.status == RequestStatus.RUNNING and c.num_computed_tokens == 5 for c in (a, b))
    assert mgr.get_block_ids("1_r") == mgr.get_block_ids("0_r") == mgr.get_block_ids("2_r")


def test_drop_pending_finishes_named_samples_only() -> None:
    """Named pending samples finish; the others stay pending under their parent."""
    parent, a, b = _family(3)
    finished, heirs = drop_pending([parent], {"1_r"}, RequestStatus.FINISHED_ABORTED)
    assert finished == ["1_r"] and heirs == [] and parent.fork_children == [b]
    assert a.status == RequestStatus.FINISHED_ABORTED


def test_finished_parent_hands_survivors_to_an_heir() -> None:
    """If the parent itself ends, the first surviving sample inherits the others."""
    parent, a, _b, c = _family(4)
    finished, heirs = drop_pending([parent], {"0_r", "2_r"}, RequestStatus.FINISHED_ABORTED)
    assert finished == ["2_r"] and heirs == [a]
    assert a.fork_children == [c] and parent.fork_children == []
