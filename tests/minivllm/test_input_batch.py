"""Tests for minivllm.worker.input_batch."""

from __future__ import annotations

import pytest
import torch

from minivllm.request import Request
from minivllm.sampling_params import SamplingParams
from minivllm.worker.input_batch import (
    CachedRequestState,
    expand_for_drafts,
    make_sampling_metadata,
)

V = 16


def _pair(params: SamplingParams, prompt: list[int] | None = None) -> tuple[Request, CachedRequestState]:
    req = Request("r", prompt or [1, 2, 3], params, eos_token_id=2)
    return req, CachedRequestState(req, V)


def test_all_default_params_skip_optional_tensors() -> None:
    """A greedy batch without extras builds no optional tensors."""
    pairs = [_pair(SamplingParams(temperature=0)) for _ in range(3)]
    md = make_sampling_metadata([r for r, _ in pairs], [s for _, s in pairs], V)
    assert md.all_greedy and md.top_k is None and md.top_p is None and md.min_p is None
    assert md.output_counts is None and md.blocked_tokens is None and md.max_num_logprobs is None


def test_penalty_counts_follow_new_output_tokens() -> None:
    """Counts are updated from tokens appended since the last step, once each."""
    req, state = _pair(SamplingParams(frequency_penalty=0.5), prompt=[4, 5])
    other, other_state = _pair(SamplingParams())
    req.append_output_token_ids([7, 7, 9])
    md = make_sampling_metadata([req, other], [state, other_state], V)
    assert md.output_counts is not None and md.prompt_mask is not None
    assert md.output_counts[0, 7] == 2 and md.output_counts[0, 9] == 1
    assert md.output_counts[1].sum() == 0
    assert md.prompt_mask[0].nonzero().flatten().tolist() == [4, 5]
    req.append_output_token_ids([9])
    md = make_sampling_metadata([req], [state], V)
    assert md.output_counts[0, 9] == 2 and md.output_counts[0, 7] == 2


def test_min_tokens_blocks_eos_and_stop_ids_until_reached() -> None:
    """Before min_tokens, EOS and stop ids are blocked; after, nothing is."""
    req, state = _pair(SamplingParams(min_tokens=1, stop_token_ids=[5]))
    md = make_sampling_metadata([req], [state], V)
    assert md.blocked_tokens is not None
    assert md.blocked_tokens[0].nonzero().flatten().tolist() == [2, 5]
    req.append_output_token_ids([9])
    assert make_sampling_metadata([req], [state], V).blocked_tokens is None


def test_seeded_request_gets_its_own_generator() -> None:
    """A seed gives the request a generator in the metadata, keyed by its row."""
    a, sa = _pair(SamplingParams(seed=11))
    b, sb = _pair(SamplingParams())
    md = make_sampling_metadata([b, a], [sb, sa], V)
    assert md.generators is not None and list(md.generators) == [1]
    assert torch.equal(md.temperature, torch.tensor([1.0, 1.0]))


def test_expand_for_drafts_repeats_truncation_rows() -> None:
    """Row i appears counts[i] times with its temperature and top-k/top-p."""
    reqs = [_pair(SamplingParams(temperature=t, top_k=k))[0] for t, k in ((0.5, 3), (0.0, 0), (1.5, 7))]
    md = make_sampling_metadata(reqs, [CachedRequestState(r, V) for r in reqs], V)
    rows = expand_for_drafts(md, [2, 0, 3])
    assert rows.temperature.tolist() == [0.5, 0.5, 1.5, 1.5, 1.5]
    assert rows.top_k.tolist() == [3, 3, 7, 7, 7] and rows.top_p is None


def test_expand_for_drafts_refuses_penalty_rows() -> None:
    """Penalised rows differ per draft position, so expanding them is refused."""
    req, state = _pair(SamplingParams(repetition_penalty=1.2))
    md = make_sampling_metadata([req], [state], V)
    with pytest.raises(ValueError, match="penalties"):
        expand_for_drafts(md, [2])
