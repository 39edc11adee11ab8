"""Lab 16.01: pull tool calls out of a model's streamed text, chunk by chunk.

Chat models that call tools write them inline, e.g. ``<tool_call>{"name": ..., "arguments":
{...}}</tool_call>``. The OpenAI-compatible server must turn that into structured ``tool_calls``
and send everything else as ordinary content — while streaming, when the text arrives in
arbitrary pieces. The one rule that makes streaming correct: never emit text that might still
turn out to be part of a tag. A chunk ending in ``"<tool"`` is held back until the next chunk
decides. If that rule holds, the streamed result equals the one-shot parse of the whole text,
however the text was split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

START, END = "<tool_call>", "</tool_call>"


@dataclass(frozen=True)
class ToolCall:
    """One call: the function name and its arguments as a JSON object string."""

    name: str
    arguments: str


@dataclass(frozen=True)
class ParseResult:
    """Content text (tags removed) and the tool calls, in order."""

    content: str
    tool_calls: tuple[ToolCall, ...]


@dataclass(frozen=True)
class Delta:
    """One streamed event: some content, or one complete tool call."""

    content: str = ""
    tool_call: ToolCall | None = None


def parse_tool_call(body: str) -> ToolCall | None:
    """The call described by a block's JSON body, or None if it is not a valid call."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    args = data.get("arguments", {})
    if not isinstance(args, dict):
        return None
    return ToolCall(data["name"], json.dumps(args))


def held_back(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for n in range(min(len(text), len(tag) - 1), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


def extract_tool_calls(text: str) -> ParseResult:
    """Parse a complete model output in one go."""
    content: list[str] = []
    calls: list[ToolCall] = []
    pos = 0
    while (start := text.find(START, pos)) != -1:
        end = text.find(END, start + len(START))
        if end == -1:
            break
        content.append(text[pos:start])
        call = parse_tool_call(text[start + len(START) : end])
        if call is None:
            content.append(text[start : end + len(END)])
        else:
            calls.append(call)
        pos = end + len(END)
    content.append(text[pos:])
    return ParseResult("".join(content), tuple(calls))


class StreamingToolParser:
    """Feed chunks as they arrive; get content and tool-call deltas as soon as they are certain."""

    def __init__(self) -> None:
        self.buffer = ""
        self.in_call = False

    def feed(self, chunk: str) -> list[Delta]:
        """Consume one chunk; return the deltas it makes certain."""
        self.buffer += chunk
        out: list[Delta] = []
        while True:
            if not self.in_call:
                start = self.buffer.find(START)
                if start == -1:
                    keep = held_back(self.buffer, START)
                    emit, self.buffer = self.buffer[: len(self.buffer) - keep], self.buffer[len(self.buffer) - keep :]
                    if emit:
                        out.append(Delta(content=emit))
                    return out
                if start:
                    out.append(Delta(content=self.buffer[:start]))
                self.buffer, self.in_call = self.buffer[start:], True
            end = self.buffer.find(END, len(START))
            if end == -1:
                return out
            block = self.buffer[: end + len(END)]
            call = parse_tool_call(block[len(START) : -len(END)])
            out.append(Delta(tool_call=call) if call else Delta(content=block))
            self.buffer, self.in_call = self.buffer[end + len(END) :], False

    def finish(self) -> list[Delta]:
        """The stream ended: flush what was held back (a partial tag, an unterminated block)."""
        rest, self.buffer, self.in_call = self.buffer, "", False
        return [Delta(content=rest)] if rest else []
