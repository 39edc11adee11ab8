"""Lab 03.04 tests: every stop rule, its finish reason, and its interaction with min_tokens."""

from __future__ import annotations

from minivllm.detokenizer import IncrementalDetokenizer
from minivllm.request import FinishReason, Request, RequestStatus
from minivllm.sampling_params import SamplingParams
from minivllm.tokenizer import ByteTokenizer

from annotator.labs import load_impl

impl = load_impl(__file__)

EOS = 300
MAX_LEN = 64


def make(prompt_len: int = 4, text: bool = False, **params) -> Request:
    """A request with EOS id 300; with ``text`` it gets a byte-level detokenizer."""
    detok = IncrementalDetokenizer(ByteTokenizer(eos_token_id=EOS)) if text else None
    return Request("r", list(range(1, prompt_len + 1)), SamplingParams(**params), eos_token_id=EOS, detokenizer=detok)


def feed(request: Request, tokens: list[int]) -> int | None:
    """Append tokens one at a time like the scheduler; return the index of the stopping token."""
    for i, t in enumerate(tokens):
        request.append_output_token_ids((t,))
        new_text = request.detokenizer.update((t,)) if request.detokenizer else ""
        if impl.check_stop_strings(request, new_text) or impl.check_stop(request, MAX_LEN):
            return i
    return None


def test_eos_and_ignore_eos():
    """EOS stops with reason 'stop'; with ignore_eos it does not."""
    r = make(max_tokens=10)
    assert feed(r, [5, 6, EOS, 7]) == 2
    assert r.status == RequestStatus.FINISHED_STOPPED and r.get_finished_reason() == FinishReason.STOP
    keep_going = make(max_tokens=10, ignore_eos=True)
    assert feed(keep_going, [5, EOS, 7]) is None and not keep_going.is_finished()


def test_stop_token_reports_its_id():
    """A stop token id finishes the request and becomes stop_reason."""
    r = make(max_tokens=10, stop_token_ids=[42])
    assert feed(r, [1, 42]) == 1 and r.stop_reason == 42


def test_min_tokens_holds_back_everything_but_the_context_cap():
    """Before min_tokens, EOS and stop tokens are ignored; the context cap still applies."""
    r = make(max_tokens=10, min_tokens=3, stop_token_ids=[42])
    assert feed(r, [EOS, 42]) is None
    assert feed(r, [EOS]) == 0 and r.num_output_tokens == 3
    capped = make(prompt_len=MAX_LEN - 2, max_tokens=10, min_tokens=5)
    assert feed(capped, [7, 8, 9]) == 1
    assert capped.status == RequestStatus.FINISHED_LENGTH_CAPPED


def test_max_tokens_is_a_length_cap():
    """Reaching max_tokens finishes with reason 'length'."""
    r = make(max_tokens=3)
    assert feed(r, [7, 8, 9, 10]) == 2
    assert r.get_finished_reason() == FinishReason.LENGTH


def test_stop_string_across_tokens_truncates_text():
    """'END' arriving as E, N, D+'!' stops at the D token; text is cut before (or after) the stop string."""
    tokens = [ord(c) for c in "ok E"] + [ord("N"), ord("D"), ord("!")]
    r = make(text=True, max_tokens=20, stop=("END",))
    assert feed(r, tokens) == 5
    assert r.stop_reason == "END" and r.detokenizer.output_text == "ok "
    kept = make(text=True, max_tokens=20, stop=("END",), include_stop_str_in_output=True)
    feed(kept, tokens)
    assert kept.detokenizer.output_text == "ok END"


def test_min_tokens_delays_stop_strings():
    """A stop string completed within the first min_tokens tokens does not stop the request."""
    r = make(text=True, max_tokens=20, min_tokens=4, stop=("ab",))
    assert feed(r, [ord("a"), ord("b"), ord("x"), ord("a")]) is None
    assert feed(r, [ord("b")]) == 0 and r.stop_reason == "ab"
