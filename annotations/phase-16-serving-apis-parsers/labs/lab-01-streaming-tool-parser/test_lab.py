"""Lab 16.01 tests: streamed tool-call parsing equals the one-shot parse for every split."""

from __future__ import annotations

import json

import pytest

from annotator.labs import load_impl

impl = load_impl(__file__)

CALL = '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'
TEXTS = [
    "Just text, with a < sign and a <b>tag</b>.",
    f"Let me check. {CALL}",
    f"{CALL}{CALL.replace('Paris', 'Oslo')} done",
    "Broken: <tool_call>{not json}</tool_call> after",
    f"{CALL} and then <tool_call>{{\"name\": \"x\"",
]


def stream(chunks):
    """Feed chunks to a fresh parser; return (content, calls)."""
    parser = impl.StreamingToolParser()
    deltas = [d for c in chunks for d in parser.feed(c)] + parser.finish()
    return "".join(d.content for d in deltas), tuple(d.tool_call for d in deltas if d.tool_call)


def test_held_back():
    """Only a suffix that could still grow into the tag is held back."""
    assert impl.held_back("a <tool", "<tool_call>") == 5
    assert impl.held_back("a <", "<tool_call>") == 1
    assert impl.held_back("a <b", "<tool_call>") == 0
    assert impl.held_back("a <tool_call", "<tool_call>") == 10
    assert impl.held_back("", "<tool_call>") == 0


def test_one_shot_parse():
    """Calls are extracted with JSON arguments; bad or unterminated blocks stay content."""
    r = impl.extract_tool_calls(TEXTS[1])
    assert r.content == "Let me check. "
    assert [(c.name, json.loads(c.arguments)) for c in r.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert len(impl.extract_tool_calls(TEXTS[2]).tool_calls) == 2
    bad = impl.extract_tool_calls(TEXTS[3])
    assert bad.tool_calls == () and bad.content == TEXTS[3]
    tail = impl.extract_tool_calls(TEXTS[4])
    assert len(tail.tool_calls) == 1 and tail.content.endswith('<tool_call>{"name": "x"')


@pytest.mark.parametrize("text", TEXTS)
def test_every_two_way_split_matches_one_shot(text: str):
    """Splitting the text at any position gives the one-shot content and calls."""
    expected = impl.extract_tool_calls(text)
    for cut in range(len(text) + 1):
        assert stream([text[:cut], text[cut:]]) == (expected.content, expected.tool_calls), cut


@pytest.mark.parametrize("text", TEXTS)
def test_character_by_character_matches_one_shot(text: str):
    """Feeding one character at a time gives the one-shot content and calls."""
    expected = impl.extract_tool_calls(text)
    assert stream(list(text)) == (expected.content, expected.tool_calls)


def test_content_is_released_as_soon_as_it_is_certain():
    """'x <' holds the '<'; the next chunk ' y' releases it; a real tag is never shown as content."""
    parser = impl.StreamingToolParser()
    assert "".join(d.content for d in parser.feed("x <")) == "x "
    assert "".join(d.content for d in parser.feed(" y")) == "< y"
    shown = [d for piece in ("ok <tool", "_call>", '{"name": "f"}', "</tool_call>") for d in parser.feed(piece)]
    assert "".join(d.content for d in shown) == "ok "
    assert [d.tool_call.name for d in shown if d.tool_call] == ["f"]
