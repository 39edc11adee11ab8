"""Lab 16.02: separate a reasoning model's thinking from its answer, while streaming.

Reasoning models write their chain of thought between ``<think>`` and ``</think>`` before the
answer. The server returns the two separately (``reasoning`` vs ``content``), also when
streaming. Some chat templates put ``<think>`` into the *prompt*, so the generated text starts
inside the reasoning block and only ``</think>`` ever appears. The parser is a two-state lexer
whose only subtlety is the one from the tool-call lab: text that might still become a tag is
held back until the next chunk settles it.
"""

from __future__ import annotations

from dataclasses import dataclass

THINK_START, THINK_END = "<think>", "</think>"


@dataclass(frozen=True)
class Piece:
    """One streamed event: ``kind`` is ``"reasoning"`` or ``"content"``."""

    kind: str
    text: str


def held_back(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for n in range(min(len(text), len(tag) - 1), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


def extract_reasoning(text: str, starts_in_reasoning: bool = False) -> tuple[str, str]:
    """``(reasoning, content)`` of a complete output; tags are removed."""
    parts = {"reasoning": [], "content": []}
    reasoning = starts_in_reasoning
    pos = 0
    while True:
        tag = THINK_END if reasoning else THINK_START
        found = text.find(tag, pos)
        kind = "reasoning" if reasoning else "content"
        if found == -1:
            parts[kind].append(text[pos:])
            break
        parts[kind].append(text[pos:found])
        pos, reasoning = found + len(tag), not reasoning
    return "".join(parts["reasoning"]), "".join(parts["content"])


class StreamingReasoningParser:
    """Incremental :func:`extract_reasoning`."""

    def __init__(self, starts_in_reasoning: bool = False) -> None:
        self.reasoning = starts_in_reasoning
        self.buffer = ""

    def _kind(self) -> str:
        return "reasoning" if self.reasoning else "content"

    def feed(self, chunk: str) -> list[Piece]:
        """Consume a chunk; return the pieces it makes certain."""
        self.buffer += chunk
        out: list[Piece] = []
        while True:
            tag = THINK_END if self.reasoning else THINK_START
            found = self.buffer.find(tag)
            if found == -1:
                cut = len(self.buffer) - held_back(self.buffer, tag)
                if cut:
                    out.append(Piece(self._kind(), self.buffer[:cut]))
                self.buffer = self.buffer[cut:]
                return out
            if found:
                out.append(Piece(self._kind(), self.buffer[:found]))
            self.buffer = self.buffer[found + len(tag) :]
            self.reasoning = not self.reasoning

    def finish(self) -> list[Piece]:
        """Flush whatever was held back, in the current mode."""
        rest, self.buffer = self.buffer, ""
        return [Piece(self._kind(), rest)] if rest else []
