"""Tests for minivllm.engine.output_processor."""

from __future__ import annotations

from minivllm.detokenizer import IncrementalDetokenizer
from minivllm.engine.output_processor import OutputProcessor
from minivllm.outputs import EngineCoreOutput
from minivllm.request import Request, RequestStatus
from minivllm.sampling_params import RequestOutputKind, SamplingParams
from minivllm.tokenizer import ByteTokenizer


def _feed(kind: RequestOutputKind, text: str, **params: object):
    """Feed ``text`` byte by byte as sampled tokens; collect the outputs emitted."""
    req = Request("r", [1], SamplingParams(output_kind=kind, **params), detokenizer=IncrementalDetokenizer(ByteTokenizer()))
    proc = OutputProcessor()
    proc.add_request(req, "p")
    emitted = []
    for i, ch in enumerate(text.encode()):
        req.append_output_token_ids([ch])
        req.detokenizer.update([ch])
        last = i == len(text.encode()) - 1
        if last:
            req.status = RequestStatus.FINISHED_LENGTH_CAPPED
        emitted += proc.process_outputs([EngineCoreOutput("r", (ch,), finish_reason=req.get_finished_reason())])
    assert not proc.has_unfinished_requests()
    return emitted


def test_delta_outputs_concatenate_to_the_whole() -> None:
    """DELTA outputs carry only new tokens/text and add up to the full output."""
    outs = _feed(RequestOutputKind.DELTA, "héllo")
    assert "".join(o.outputs[0].text for o in outs) == "héllo"
    assert sum(len(o.outputs[0].token_ids) for o in outs) == len("héllo".encode())
    assert [o.finished for o in outs].count(True) == 1 and outs[-1].finished


def test_final_only_emits_once_with_everything() -> None:
    """FINAL_ONLY emits a single, complete output at the end."""
    (out,) = _feed(RequestOutputKind.FINAL_ONLY, "abc")
    assert out.outputs[0].text == "abc" and out.outputs[0].token_ids == (97, 98, 99)
    assert out.prompt == "p" and out.outputs[0].finish_reason == "length"


def test_cumulative_outputs_grow() -> None:
    """CUMULATIVE outputs repeat everything so far, each longer than the last."""
    outs = _feed(RequestOutputKind.CUMULATIVE, "abc")
    assert [o.outputs[0].text for o in outs] == ["a", "ab", "abc"]


def test_streaming_holds_back_a_possible_stop_string_prefix() -> None:
    """While streaming, text that could start a stop string is held back until it cannot."""
    outs = _feed(RequestOutputKind.DELTA, "xyzw", stop=["zq"], max_tokens=10)
    pieces = [o.outputs[0].text for o in outs]
    assert pieces[2] == "y" and "z" not in "".join(pieces[:3])
    assert "".join(pieces) == "xyzw"
