"""The pieces of evidence a successor is judged on, and how they add up to one score.

Plain functions and records, so that each measure can be tested alone and the finder
(:mod:`annotator.rebase.successors`) only gathers candidates and applies them.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from annotator.rebase.names import tokens
from annotator.records import Symbol

WEIGHTS = {"alias": 0.95, "body": 0.85, "name": 0.6, "place": 0.4, "callers": 0.6}
_WORD = re.compile(r"[A-Za-z_]\w*")
_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")
_STRING = re.compile(r"""(['"])([^'"\n]{4,}?)\1""")
_NOISE = frozenset(keyword.kwlist) | {"self", "cls", "None", "True", "False", "int", "str", "list", "dict"}


@dataclass(frozen=True, slots=True)
class Candidate:
    """One definition of the new tree that may do the vanished one's job, scored, with reasons."""

    path: str
    symbol: Symbol
    score: float
    evidence: tuple[str, ...]
    fresh: bool  # the old tree had no definition of this name in this file
    coverage: float  # share of the old body's identifiers that this body uses
    covered: frozenset[str] = frozenset()  # those identifiers
    reach: float = 0.0  # share of the old name's callers that call this one now instead

    def describe(self) -> str:
        """``path:line — qualname (score: evidence; …)``, as candidates are listed."""
        why = "; ".join(self.evidence) or "no evidence"
        return f"{self.path}:{self.symbol.line} — {self.symbol.qualname} ({self.score:.2f}: {why})"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one vanished definition: a successor (maybe in pieces), or ranked guesses."""

    how: str  # "renamed" | "moved-file" | "split" | "merged" | "missing" | "removed"
    best: Candidate | None
    others: tuple[Candidate, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class Body:
    """What a definition's text is made of, for comparing bodies that were rewritten."""

    words: frozenset[str]
    calls: frozenset[str]
    strings: frozenset[str]
    doc: str


def leaf(qualname: str) -> str:
    """The last dotted part of a qualified name."""
    return qualname.rpartition(".")[2]


def parent(qualname: str) -> str:
    """Everything before the last dotted part ("" for a top-level name)."""
    return qualname.rpartition(".")[0]


def name_similarity(a: str, b: str) -> float:
    """Edit-distance ratio and shared name tokens of two identifiers, whichever is stronger."""
    if a == b:
        return 1.0
    ta, tb = tokens(a), tokens(b)
    jaccard = len(ta & tb) / len(ta | tb) if ta | tb else 0.0
    return max(SequenceMatcher(None, a.lower(), b.lower()).ratio(), jaccard)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float | None:
    return len(a & b) / len(a | b) if a or b else None


def noisy_or(strengths: dict[str, float]) -> float:
    """Independent pieces of evidence combined: any one strong piece is enough, weak ones add up.

    Each piece (0..1) is scaled by how far it alone may go (:data:`WEIGHTS`): a same name alone
    is never enough (``forward`` is everywhere), an identical body nearly is.
    """
    miss = 1.0
    for key, value in strengths.items():
        miss *= 1.0 - WEIGHTS[key] * max(0.0, min(value, 1.0))
    return 1.0 - miss


def kind_kept(old: Symbol, new: Symbol) -> bool:
    """A class that became a function of the same name (a factory left behind) is not the same thing."""
    return (old.kind == "class") == (new.kind == "class")


def common_tail(a: str, b: str) -> int:
    """How many trailing path components two paths share (``sample/x/interface.py``: 3)."""
    pa, pb = a.split("/"), b.split("/")
    k = 0
    while k < min(len(pa), len(pb)) and pa[-1 - k] == pb[-1 - k]:
        k += 1
    return k


def package_of(path: str) -> str:
    """The top folder of a tree path (``vllm/``), "" for a file at the top."""
    return path.partition("/")[0] + "/" if "/" in path else ""


def related(a: Candidate, b: Candidate) -> bool:
    """Two candidates that are one thing: one nested in the other, or an alias and its target."""
    return a.path == b.path and (a.symbol.qualname.startswith(b.symbol.qualname + ".")
                                 or b.symbol.qualname.startswith(a.symbol.qualname + "."))


def body_of(text: str, own_name: str, summary: str) -> Body:
    """The identifiers, called names and string literals of a definition's text (its own name aside)."""
    words = frozenset(w for w in _WORD.findall(text) if w not in _NOISE and w != own_name)
    calls = frozenset(c for c in _CALL.findall(text) if c not in _NOISE and c != own_name)
    strings = frozenset(m.group(2) for m in _STRING.finditer(text))
    return Body(words, calls, strings, summary)
