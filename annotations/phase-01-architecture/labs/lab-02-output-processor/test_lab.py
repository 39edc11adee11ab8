"""Lab 01.02 tests: cumulative, delta and final-only outputs; stop-string prefixes are held back."""

from __future__ import annotations

import pytest

from minivllm.detokenizer import IncrementalDetokenizer
from minivllm.outputs import EngineCoreOutput
from minivllm.request import Request, RequestStatus
from minivllm.sampling_params import RequestOutputKind, SamplingParams
from minivllm.tokenizer import ByteTokenizer

from annotator.labs import load_impl

impl = load_impl(__file__)


def make(kind: RequestOutputKind, stop=()) -> Request:
    """A byte-level request with a detokenizer."""
    params = SamplingParams(max_tokens=50, output_kind=kind, stop=stop)
    return Request("r", [1, 2], params, detokenizer=IncrementalDetokenizer(ByteTokenizer()))


def drive(request: Request, text: str, stop_at: int | None = None):
    """Feed `text` one byte per step through the processor; return every RequestOutput."""
    proc = impl.OutputProcessor()
    proc.add_request(request, prompt="hi")
    outs = []
    for i, b in enumerate(text.encode()):
        request.append_output_token_ids((b,))
        request.detokenizer.update((b,))
        last = i == len(text.encode()) - 1 if stop_at is None else i == stop_at
        if last:
            if request.sampling_params.stop:
                request.detokenizer.truncate_at_stop(1, request.sampling_params.stop, False)
            request.status = RequestStatus.FINISHED_STOPPED
        core = EngineCoreOutput("r", (b,), None, request.get_finished_reason(), None)
        outs += proc.process_outputs([core])
        if last:
            break
    assert not proc.has_unfinished_requests()
    return outs


def test_cumulative_grows_and_delta_concatenates():
    """Cumulative text grows by a character per step; deltas join to the final cumulative output."""
    cum = drive(make(RequestOutputKind.CUMULATIVE), "hello")
    assert [o.outputs[0].text for o in cum] == ["h", "he", "hel", "hell", "hello"]
    assert cum[-1].finished and not cum[0].finished
    delta = drive(make(RequestOutputKind.DELTA), "hello")
    assert "".join(o.outputs[0].text for o in delta) == "hello"
    assert sum((o.outputs[0].token_ids for o in delta), ()) == tuple(b"hello")


def test_final_only_yields_one_output():
    """FINAL_ONLY produces exactly one output, at the end, with everything."""
    outs = drive(make(RequestOutputKind.FINAL_ONLY), "hello")
    assert len(outs) == 1 and outs[0].finished and outs[0].outputs[0].text == "hello"


@pytest.mark.parametrize("kind", [RequestOutputKind.DELTA, RequestOutputKind.CUMULATIVE])
def test_stop_string_prefix_is_held_back(kind):
    """Streaming 'abSTOP' with stop 'STOP': no output shows 'S', 'ST' or 'STO'; the final text is 'ab'."""
    text = "abSTOP"
    outs = drive(make(kind, stop=("STOP",)), text, stop_at=len(text) - 1)
    shown = [o.outputs[0].text for o in outs]
    assert all("S" not in s for s in shown)
    final = "".join(shown) if kind is RequestOutputKind.DELTA else shown[-1]
    assert final == "ab"


def test_unknown_ids_are_ignored():
    """An EngineCoreOutput for a request the processor does not track produces nothing."""
    proc = impl.OutputProcessor()
    assert proc.process_outputs([EngineCoreOutput("ghost", (1,))]) == []


def test_finished_output_releases_the_held_back_text():
    """A request that finishes while its text ends in a stop-string prefix still gets that text."""
    outs = drive(make(RequestOutputKind.CUMULATIVE, stop=("STOP",)), "abST")
    assert outs[-1].finished and outs[-1].outputs[0].text == "abST"


def test_samples_of_one_request_are_aggregated_by_the_parent():
    """n=2, FINAL_ONLY: nothing until both samples finish, then one output under the user's id."""
    from minivllm.engine.parallel_sampling import ParentRequest

    params = SamplingParams(n=2, max_tokens=5, output_kind=RequestOutputKind.FINAL_ONLY)
    parent = ParentRequest("p", params)
    proc = impl.OutputProcessor()
    children = []
    for i in range(2):
        rid, child_params = parent.get_child_info(i)
        child = Request(rid, [1, 2], child_params, detokenizer=IncrementalDetokenizer(ByteTokenizer()))
        proc.add_request(child, prompt="hi", parent=parent, index=i)
        children.append(child)
    got = []
    for child, b in zip(children, b"xy"):
        child.append_output_token_ids((b,))
        child.detokenizer.update((b,))
        child.status = RequestStatus.FINISHED_LENGTH_CAPPED
        got.append(proc.process_outputs([EngineCoreOutput(child.request_id, (b,), None, child.get_finished_reason(), None)]))
    assert got[0] == []
    (out,) = got[1]
    assert out.request_id == "p" and out.finished
    assert sorted(c.text for c in out.outputs) == ["x", "y"]
