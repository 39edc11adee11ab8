"""Lab 01.01 tests: incremental deltas concatenate to the full text; stop strings search only the tail."""

from __future__ import annotations

from minivllm.tokenizer import ByteTokenizer

from annotator.labs import load_impl

impl = load_impl(__file__)

TEXT = "naïve café — 東京 🚀 done"


class SpaceMarkerTokenizer:
    """SentencePiece-like: '▁x' pieces carry a leading space, which decode() drops at the start."""

    eos_token_id = None
    bos_token_id = None
    pieces = ["▁Hello", ",", "▁world", "▁it", "'s", "▁me", "!"]

    def decode(self, ids):
        """Join pieces, turn markers into spaces, strip the leading space of the whole text."""
        return "".join(self.pieces[i] for i in ids).replace("▁", " ").lstrip(" ")


def stream(detok, ids):
    """Feed ids one by one; return the deltas."""
    return [detok.update([i]) for i in ids]


def test_utf8_bytes_stream_to_the_full_text_without_replacement_chars():
    """Byte-by-byte deltas of mixed-script text join to the text and never contain U+FFFD."""
    detok = impl.IncrementalDetokenizer(ByteTokenizer())
    deltas = stream(detok, list(TEXT.encode()))
    assert "".join(deltas) == TEXT == detok.output_text
    assert all("\ufffd" not in d for d in deltas)
    assert deltas[list(TEXT.encode()).index(0xF0)] == ""  # first byte of the rocket emoji waits


def test_incomplete_character_waits_for_flush():
    """The first two bytes of '東' are held back; flush() releases them as a replacement char."""
    detok = impl.IncrementalDetokenizer(ByteTokenizer())
    assert "".join(stream(detok, list("ab".encode()) + list("東".encode())[:2])) == "ab"
    assert detok.flush() == "\ufffd" and detok.output_text == "ab\ufffd"


def test_context_dependent_pieces():
    """With leading-space pieces, deltas join to the full decode; naive per-token decode would not."""
    tok = SpaceMarkerTokenizer()
    ids = list(range(len(tok.pieces)))
    detok = impl.IncrementalDetokenizer(tok)
    deltas = stream(detok, ids)
    assert "".join(deltas) == tok.decode(ids) == "Hello, world it's me!"
    assert "".join(tok.decode([i]) for i in ids) != tok.decode(ids)


def test_stop_string_search():
    """Earliest match wins; include flag moves the cut; a match must end in the new characters."""
    assert impl.check_stop_strings("abc STOP xyz END", 8, ["END", "STOP"], False) == ("END", 13)
    assert impl.check_stop_strings("abc STOP xyz", 8, ["END", "STOP", "xy"], False) == ("STOP", 4)
    assert impl.check_stop_strings("abc STOP", 2, ["STOP"], True) == ("STOP", 8)
    assert impl.check_stop_strings("STOP and more", 5, ["STOP"], False) is None
    assert impl.check_stop_strings("anything", 0, ["any"], False) is None
    assert impl.check_stop_strings("ab STOP x END", 13, ["END", "STOP"], False) == ("STOP", 3)


def test_each_step_decodes_a_bounded_window():
    """After many tokens, each decode call still sees only a few ids: the offsets advance."""
    calls: list[int] = []

    class Spy(ByteTokenizer):
        def decode(self, ids):
            calls.append(len(ids))
            return super().decode(ids)

    detok = impl.IncrementalDetokenizer(Spy())
    text = "plain ascii text that is long enough " * 4
    assert "".join(stream(detok, list(text.encode()))) == text
    assert max(calls[-20:]) <= 8
