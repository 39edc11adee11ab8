"""Compare two call graphs edge by edge: precision and recall of one against an expected one.

Graphs are PyCG-style mappings (caller → callees, dotted names), so a graph of ours can be
scored against a hand-written one, or against another analyser's output, the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Score:
    """Edges found and expected; ``missing`` and ``extra`` name the differences, sorted."""

    true_positives: int
    found: int
    expected: int
    missing: tuple[tuple[str, str], ...]
    extra: tuple[tuple[str, str], ...]

    @property
    def precision(self) -> float:
        return self.true_positives / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.expected if self.expected else 1.0


def edges(mapping: Mapping[str, Sequence[str]]) -> set[tuple[str, str]]:
    """The (caller, callee) pairs of a mapping."""
    return {(a, b) for a, targets in mapping.items() for b in targets}


def score(got: Mapping[str, Sequence[str]], expected: Mapping[str, Sequence[str]]) -> Score:
    """How ``got`` compares with ``expected``, edge by edge."""
    mine, theirs = edges(got), edges(expected)
    both = mine & theirs
    return Score(len(both), len(mine), len(theirs), tuple(sorted(theirs - mine)),
                 tuple(sorted(mine - theirs)))


def total(scores: Sequence[Score]) -> Score:
    """Scores summed over several programs (micro-averaged)."""
    return Score(sum(s.true_positives for s in scores), sum(s.found for s in scores),
                 sum(s.expected for s in scores), (), ())
