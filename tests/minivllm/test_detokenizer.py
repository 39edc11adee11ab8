"""Tests for minivllm.detokenizer."""

from __future__ import annotations

from minivllm.detokenizer import IncrementalDetokenizer, check_stop_strings
from minivllm.tokenizer import ByteTokenizer


def test_incremental_text_equals_full_decode() -> None:
    """Feeding bytes one at a time yields exactly the full decode, never a broken char."""
    tok = ByteTokenizer()
    ids = tok.encode("aé✓b世")
    detok = IncrementalDetokenizer(tok)
    pieces = [detok.update([t]) for t in ids]
    assert "".join(pieces) == "aé✓b世" == detok.output_text
    assert all("\ufffd" not in p for p in pieces)
    assert pieces[1] == ""  # first byte of "é" waits for the second


def test_flush_emits_a_dangling_partial_character() -> None:
    """At finish, an incomplete character is emitted rather than lost."""
    detok = IncrementalDetokenizer(ByteTokenizer())
    detok.update([0xE2])
    assert detok.output_text == ""
    assert detok.flush() == "\ufffd"


def test_stop_string_cases() -> None:
    """Matches in the new tail are found, truncation follows include_stop, earliest wins."""
    assert check_stop_strings("abcSTOP", 2, ["STOP"], False) == ("STOP", 3)
    assert check_stop_strings("abcSTOP", 2, ["STOP"], True) == ("STOP", 7)
    assert check_stop_strings("abcSTOPx", 1, ["STOP"], False) is None
    assert check_stop_strings("xxAByyCD", 8, ["CD", "AB"], False) == ("AB", 2)
    assert check_stop_strings("abc", 0, ["a"], False) is None


def test_truncate_at_stop_edits_text() -> None:
    """truncate_at_stop cuts the kept text and returns the matched string."""
    detok = IncrementalDetokenizer(ByteTokenizer())
    new = detok.update(list(b"hi END there"))
    assert detok.truncate_at_stop(len(new), ["END"], include_stop=False) == "END"
    assert detok.output_text == "hi "
