"""Lab 16.02 tests: streamed reasoning/content split equals the one-shot split for every chunking."""

from __future__ import annotations

import pytest

from annotator.labs import load_impl

impl = load_impl(__file__)

CASES = [
    ("<think>Paris is in France.</think>The answer is Paris.", False),
    ("The user wants a city. </think>Paris.", True),
    ("No thinking here, just a < b answer.", False),
    ("<think>still thinking when the stream stopped", False),
    ("a</think>b<think>c</think>d", True),
]


def stream(chunks, starts_in_reasoning):
    """Feed chunks to a fresh parser; return (reasoning, content)."""
    parser = impl.StreamingReasoningParser(starts_in_reasoning)
    pieces = [p for c in chunks for p in parser.feed(c)] + parser.finish()
    return (
        "".join(p.text for p in pieces if p.kind == "reasoning"),
        "".join(p.text for p in pieces if p.kind == "content"),
    )


def test_one_shot_split():
    """Full block, prompt-opened block, no block, unterminated block: the expected split."""
    assert impl.extract_reasoning(CASES[0][0]) == ("Paris is in France.", "The answer is Paris.")
    assert impl.extract_reasoning(CASES[1][0], True) == ("The user wants a city. ", "Paris.")
    assert impl.extract_reasoning(CASES[2][0]) == ("", CASES[2][0])
    assert impl.extract_reasoning(CASES[3][0]) == ("still thinking when the stream stopped", "")


@pytest.mark.parametrize("text,starts", CASES)
def test_every_two_way_split(text: str, starts: bool):
    """Any single cut of the text streams to the one-shot split."""
    expected = impl.extract_reasoning(text, starts)
    for cut in range(len(text) + 1):
        assert stream([text[:cut], text[cut:]], starts) == expected, cut


@pytest.mark.parametrize("text,starts", CASES)
def test_character_by_character(text: str, starts: bool):
    """One character per chunk streams to the one-shot split, and no tag leaks into either part."""
    reasoning, content = stream(list(text), starts)
    assert (reasoning, content) == impl.extract_reasoning(text, starts)
    for part in (reasoning, content):
        assert "<think>" not in part and "</think>" not in part
