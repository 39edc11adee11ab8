"""Tests for minivllm.request."""

from __future__ import annotations

import pytest

from minivllm.core.kv_cache_utils import get_request_block_hasher
from minivllm.request import FinishReason, Request, RequestStatus
from minivllm.sampling_params import SamplingParams


def test_empty_prompt_is_rejected() -> None:
    """A request needs at least one prompt token (something must produce logits)."""
    with pytest.raises(ValueError, match="empty"):
        Request("r", [], SamplingParams())


def test_append_tracks_counts_and_hashes() -> None:
    """Appending output grows all_token_ids and hashes newly full blocks."""
    r = Request("r", [1, 2, 3], SamplingParams(), block_hasher=get_request_block_hasher(2))
    assert len(r.block_hashes) == 1
    r.append_output_token_ids([4, 5])
    assert r.all_token_ids == [1, 2, 3, 4, 5]
    assert (r.num_prompt_tokens, r.num_output_tokens, r.num_tokens) == (3, 2, 5)
    assert len(r.block_hashes) == 2


def test_prompt_list_is_copied() -> None:
    """Later changes to the caller's list do not leak into the request."""
    prompt = [1, 2]
    r = Request("r", prompt, SamplingParams())
    prompt.append(3)
    assert r.prompt_token_ids == [1, 2]


def test_status_finished_and_reason() -> None:
    """Only final statuses count as finished, each with its reason."""
    assert not RequestStatus.PREEMPTED.is_finished
    expected = {
        RequestStatus.FINISHED_STOPPED: FinishReason.STOP,
        RequestStatus.FINISHED_LENGTH_CAPPED: FinishReason.LENGTH,
        RequestStatus.FINISHED_ABORTED: FinishReason.ABORT,
    }
    for status, reason in expected.items():
        assert status.is_finished and status.finish_reason == reason
    assert RequestStatus.RUNNING.finish_reason is None
    assert str(FinishReason.LENGTH) == "length"
