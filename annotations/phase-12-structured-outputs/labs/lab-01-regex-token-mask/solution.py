"""Lab 12.01: constrain generation to a regular expression, one token mask per step.

The grammar works on characters, the model on tokens of several characters. Each step, a
token is allowed only if feeding all of its characters to the automaton keeps it alive; the
end-of-sequence token only if the text so far is a complete match. The mask sets every other
logit to ``-inf`` before sampling, so whatever the model prefers, the output stays a prefix of
some match, and ends as a full match.

The regex compiler below (literals, ``.``, ``[...]`` classes, ``\\d \\w \\s`` escapes,
groups, ``|``, ``* + ?``) builds a Thompson NFA; a *state* is the set of NFA nodes reachable
after the text so far (a lazily built DFA state). The empty set is the dead state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

State = frozenset[int]
CharTest = Callable[[str], bool]
_ESCAPES: dict[str, CharTest] = {
    "d": str.isdigit,
    "w": lambda c: c.isalnum() or c == "_",
    "s": str.isspace,
}


@dataclass
class NFA:
    """Nodes with labelled edges; ``None`` labels are epsilon moves."""

    edges: list[list[tuple[CharTest | None, int]]] = field(default_factory=list)
    start: int = 0
    accept: int = 0

    def node(self) -> int:
        self.edges.append([])
        return len(self.edges) - 1


def compile_regex(pattern: str) -> NFA:
    """Compile ``pattern`` (the subset above) into an NFA that must match the whole text."""
    nfa = NFA()
    parser = _Parser(pattern, nfa)
    nfa.start, nfa.accept = parser.alternation()
    if parser.pos != len(pattern):
        raise ValueError(f"unexpected {pattern[parser.pos]!r} at {parser.pos} in {pattern!r}")
    return nfa


class _Parser:
    """Recursive descent over the pattern, emitting (start, end) NFA fragments."""

    def __init__(self, pattern: str, nfa: NFA) -> None:
        self.p, self.pos, self.nfa = pattern, 0, nfa

    def peek(self) -> str | None:
        return self.p[self.pos] if self.pos < len(self.p) else None

    def alternation(self) -> tuple[int, int]:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence())
        if len(branches) == 1:
            return branches[0]
        s, e = self.nfa.node(), self.nfa.node()
        for b_start, b_end in branches:
            self.nfa.edges[s].append((None, b_start))
            self.nfa.edges[b_end].append((None, e))
        return s, e

    def sequence(self) -> tuple[int, int]:
        s = e = self.nfa.node()
        while self.peek() not in (None, "|", ")"):
            a_start, a_end = self.quantified()
            self.nfa.edges[e].append((None, a_start))
            e = a_end
        return s, e

    def quantified(self) -> tuple[int, int]:
        a_start, a_end = self.atom()
        op = self.peek()
        if op not in ("*", "+", "?"):
            return a_start, a_end
        self.pos += 1
        s, e = self.nfa.node(), self.nfa.node()
        self.nfa.edges[s].append((None, a_start))
        self.nfa.edges[a_end].append((None, e))
        if op in ("*", "?"):
            self.nfa.edges[s].append((None, e))
        if op in ("*", "+"):
            self.nfa.edges[a_end].append((None, a_start))
        return s, e

    def atom(self) -> tuple[int, int]:
        c = self.peek()
        if c is None or c in "*+?":
            raise ValueError(f"nothing to repeat or missing atom at {self.pos} in {self.p!r}")
        self.pos += 1
        if c == "(":
            frag = self.alternation()
            if self.peek() != ")":
                raise ValueError(f"missing ')' in {self.p!r}")
            self.pos += 1
            return frag
        test = self.char_class() if c == "[" else self.single(c)
        s, e = self.nfa.node(), self.nfa.node()
        self.nfa.edges[s].append((test, e))
        return s, e

    def single(self, c: str) -> CharTest:
        if c == ".":
            return lambda ch: ch != "\n"
        if c == "\\":
            esc = self.p[self.pos]
            self.pos += 1
            return _ESCAPES.get(esc, lambda ch, esc=esc: ch == esc)
        return lambda ch, c=c: ch == c

    def char_class(self) -> CharTest:
        negate = self.peek() == "^"
        self.pos += negate
        tests: list[CharTest] = []
        while self.peek() != "]":
            if self.peek() is None:
                raise ValueError(f"missing ']' in {self.p!r}")
            lo = self.p[self.pos]
            self.pos += 1
            if lo == "\\":
                tests.append(self.single(lo))
            elif self.peek() == "-" and self.p[self.pos + 1] != "]":
                hi = self.p[self.pos + 1]
                self.pos += 2
                tests.append(lambda ch, lo=lo, hi=hi: lo <= ch <= hi)
            else:
                tests.append(lambda ch, lo=lo: ch == lo)
        self.pos += 1
        return lambda ch: any(t(ch) for t in tests) != negate


def _closure(nfa: NFA, nodes: set[int]) -> State:
    stack, seen = list(nodes), set(nodes)
    while stack:
        for label, target in nfa.edges[stack.pop()]:
            if label is None and target not in seen:
                seen.add(target)
                stack.append(target)
    return frozenset(seen)


def start_state(nfa: NFA) -> State:
    """The state before any character."""
    return _closure(nfa, {nfa.start})


def step(nfa: NFA, state: State, ch: str) -> State:
    """The state after one more character (empty: dead, no match can follow)."""
    moved = {t for n in state for label, t in nfa.edges[n] if label is not None and label(ch)}
    return _closure(nfa, moved)


def is_accepting(nfa: NFA, state: State) -> bool:
    """Whether the text so far is a complete match."""
    return nfa.accept in state


def advance(nfa: NFA, state: State, text: str) -> State:
    """The state after all characters of ``text`` (dead as soon as any character is refused)."""
    for ch in text:
        state = step(nfa, state, ch)
        if not state:
            break
    return state


def token_mask(nfa: NFA, state: State, vocab: Sequence[str]) -> torch.Tensor:
    """Bool ``[len(vocab) + 1]``: which tokens may come next; the last entry is EOS."""
    allowed = [bool(text) and bool(advance(nfa, state, text)) for text in vocab]
    allowed.append(is_accepting(nfa, state))
    return torch.tensor(allowed)


def apply_mask(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``-inf`` wherever the mask forbids the token."""
    return logits.masked_fill(~mask, float("-inf"))


def constrained_greedy(
    logits_fn: Callable[[list[int]], torch.Tensor],
    nfa: NFA,
    vocab: Sequence[str],
    max_tokens: int,
) -> list[int]:
    """Greedy decoding under the grammar; EOS is id ``len(vocab)``."""
    eos = len(vocab)
    state = start_state(nfa)
    out: list[int] = []
    for _ in range(max_tokens):
        logits = apply_mask(logits_fn(out), token_mask(nfa, state, vocab))
        token = int(logits.argmax())
        out.append(token)
        if token == eos:
            break
        state = advance(nfa, state, vocab[token])
    return out
