"""Tests for minivllm.core.sched.utils."""

from __future__ import annotations

from minivllm.core.sched.utils import check_stop, check_stop_strings
from minivllm.detokenizer import IncrementalDetokenizer
from minivllm.request import Request, RequestStatus
from minivllm.sampling_params import SamplingParams
from minivllm.tokenizer import ByteTokenizer


def _req(out: list[int], **params: object) -> Request:
    r = Request("r", [5, 6, 7], SamplingParams(**params), eos_token_id=2)
    r.append_output_token_ids(out)
    return r


def test_check_stop_table() -> None:
    """Each stop rule fires on its own condition and sets the matching status."""
    cases = [
        (_req([9]), 100, False, RequestStatus.WAITING),
        (_req([2]), 100, True, RequestStatus.FINISHED_STOPPED),
        (_req([2], ignore_eos=True), 100, False, RequestStatus.WAITING),
        (_req([2], min_tokens=2, max_tokens=5), 100, False, RequestStatus.WAITING),
        (_req([9, 9], max_tokens=2), 100, True, RequestStatus.FINISHED_LENGTH_CAPPED),
        (_req([9], stop_token_ids=[9]), 100, True, RequestStatus.FINISHED_STOPPED),
        (_req([9]), 4, True, RequestStatus.FINISHED_LENGTH_CAPPED),
        (_req([9], min_tokens=3, max_tokens=5), 4, True, RequestStatus.FINISHED_LENGTH_CAPPED),
    ]
    for req, max_len, stopped, status in cases:
        assert check_stop(req, max_len) is stopped, req.sampling_params
        assert req.status == status


def test_stop_token_is_the_stop_reason() -> None:
    """A stop token id is reported as the stop reason; EOS is not."""
    r = _req([9], stop_token_ids=[9])
    check_stop(r, 100)
    assert r.stop_reason == 9
    e = _req([2])
    check_stop(e, 100)
    assert e.stop_reason is None


def test_check_stop_strings_waits_for_min_tokens() -> None:
    """Stop strings only count once more than min_tokens tokens exist."""
    detok = IncrementalDetokenizer(ByteTokenizer())
    r = Request("r", [5], SamplingParams(stop=["x"], min_tokens=1, max_tokens=4), detokenizer=detok)
    r.append_output_token_ids([ord("x")])
    assert not check_stop_strings(r, detok.update([ord("x")]))
    r.append_output_token_ids([ord("x")])
    assert check_stop_strings(r, detok.update([ord("x")]))
    assert r.stop_reason == "x" and detok.output_text == "x"
