"""Line alignment between two versions of one text (a whole file, or one definition's lines).

The lines that stayed in order come from a patience alignment (lines unique on both sides
anchor the match, the longest increasing run of them is kept, and the gaps between are solved
the same way, with difflib for gaps that have no unique line): it is fast on 7,000-line files
and does not pair up a moved function's ``)`` with an unrelated one. Lines are compared with
their whitespace collapsed, so a re-indent is not an edit. A line that left its block is recognised
elsewhere only when it carries at least :data:`MIN_MOVED_ALNUM` alphanumeric characters — git's
own threshold for moved blocks — because short lines (``return x``, ``)``) recur too often to
identify. Every other line is placed between its aligned neighbours (on the most similar line of
that gap when one is clearly alike — an edited line usually is), and says so.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

MIN_MOVED_ALNUM = 20
EDITED_SIMILARITY = 0.5  # an edited line is placed on the gap's line at least this alike
PLACE_SEARCH = 200  # gap lines (nearest first) considered when placing one line

How = Literal["equal", "moved", "placed", "gone"]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one old line went: a 0-based index into the new lines, and on what evidence.

    ``equal``: the same text, in order with its neighbours; ``moved``: the same (long) text found
    elsewhere; ``placed``: the line was edited or is too short to identify, so its neighbours
    decide; ``gone``: there is no new line at all to point at.
    """

    index: int | None
    how: How

    @property
    def exact(self) -> bool:
        """True when the new line carries the old line's text (whitespace aside)."""
        return self.how in ("equal", "moved")


def normalise(line: str) -> str:
    """A line's text with every whitespace run collapsed, so indentation changes compare equal."""
    return " ".join(line.split())


def is_strong(key: str) -> bool:
    """True when a line is distinctive enough to be recognised after moving."""
    return sum(ch.isalnum() for ch in key) >= MIN_MOVED_ALNUM


class Alignment:
    """The placements of every old line, each worked out only when asked for.

    Placing an edited line means searching its gap, which is costly where a file was rewritten
    wholesale; an anchor needs one or two lines, so nothing is placed until it is indexed.
    """

    def __init__(self, a: list[str], b: list[str]) -> None:
        self._a, self._b = a, b
        self._forward = in_order(a, b)
        self._gaps = _Gaps(self._forward, len(b))
        self._moved = _moved_lines(a, b, self._forward, self._gaps)
        self._placed: dict[int, Placement] = {}

    def __len__(self) -> int:
        return len(self._a)

    def __getitem__(self, i: int) -> Placement:
        if not 0 <= i < len(self._a):
            raise IndexError(i)
        j = self._forward[i]
        if j is not None:
            return Placement(j, "equal")
        if i in self._moved:
            return Placement(self._moved[i], "moved")
        if i not in self._placed:
            self._placed[i] = _place(i, self._a[i], self._b, self._gaps)
        return self._placed[i]

    def __iter__(self):
        return (self[i] for i in range(len(self._a)))


def align(old: Sequence[str], new: Sequence[str]) -> Alignment:
    """Where each old line went: ``align(old, new)[i]`` is the :class:`Placement` of old line ``i``."""
    return Alignment([normalise(x) for x in old], [normalise(x) for x in new])


def in_order(a: Sequence[str], b: Sequence[str]) -> list[int | None]:
    """For each line of ``a``, the line of ``b`` it matches in an order-keeping alignment, or None."""
    forward: list[int | None] = [None] * len(a)
    todo = [(0, len(a), 0, len(b))]
    while todo:
        a0, a1, b0, b1 = todo.pop()
        while a0 < a1 and b0 < b1 and a[a0] == b[b0]:
            forward[a0] = b0
            a0, b0 = a0 + 1, b0 + 1
        while a0 < a1 and b0 < b1 and a[a1 - 1] == b[b1 - 1]:
            a1, b1 = a1 - 1, b1 - 1
            forward[a1] = b1
        if a0 == a1 or b0 == b1:
            continue
        anchors = _unique_run(a, b, a0, a1, b0, b1)
        if not anchors:
            matcher = SequenceMatcher(None, a[a0:a1], b[b0:b1], autojunk=False)
            for blk in matcher.get_matching_blocks():
                for k in range(blk.size):
                    forward[a0 + blk.a + k] = b0 + blk.b + k
            continue
        for i, j in anchors:
            forward[i] = j
            todo.append((a0, i, b0, j))
            a0, b0 = i + 1, j + 1
        todo.append((a0, a1, b0, b1))
    return forward


def _unique_run(
    a: Sequence[str], b: Sequence[str], a0: int, a1: int, b0: int, b1: int
) -> list[tuple[int, int]]:
    """Pairs of lines unique on both sides, longest run in increasing order on both (patience)."""
    seen_a: dict[str, int] = {}
    for i in range(a0, a1):
        seen_a[a[i]] = -1 if a[i] in seen_a else i
    seen_b: dict[str, int] = {}
    for j in range(b0, b1):
        if seen_a.get(b[j], -1) >= 0:
            seen_b[b[j]] = -1 if b[j] in seen_b else j
    pairs = sorted((seen_a[k], j) for k, j in seen_b.items() if j >= 0)
    tails: list[int] = []  # tails[k]: index in pairs of the smallest end of a run of length k+1
    tail_js: list[int] = []  # the b-line of each tail, for bisect
    back: list[int] = []
    for n, (_, j) in enumerate(pairs):
        k = bisect_left(tail_js, j)
        back.append(tails[k - 1] if k else -1)
        if k == len(tails):
            tails.append(n)
            tail_js.append(j)
        else:
            tails[k], tail_js[k] = n, j
    run, n = [], tails[-1] if tails else -1
    while n >= 0:
        run.append(pairs[n])
        n = back[n]
    return run[::-1]


class _Gaps:
    """For each old line, its nearest aligned neighbours before and after (as new indices)."""

    def __init__(self, forward: list[int | None], n_new: int) -> None:
        self.n_new = n_new
        self.prev: list[tuple[int, int]] = []  # (old index, new index), (-1, -1) when none
        last = (-1, -1)
        for i, j in enumerate(forward):
            self.prev.append(last)
            if j is not None:
                last = (i, j)
        self.next: list[tuple[int, int]] = [(len(forward), n_new)] * len(forward)
        nxt = (len(forward), n_new)
        for i in range(len(forward) - 1, -1, -1):
            self.next[i] = nxt
            if forward[i] is not None:
                nxt = (i, forward[i])

    def expected(self, i: int) -> int:
        """Where old line ``i`` would sit if the lines since its previous neighbour were kept."""
        p, pj = self.prev[i]
        return pj + (i - p)

    def window(self, i: int) -> range:
        """New indices strictly between the new positions of the two neighbours."""
        return range(self.prev[i][1] + 1, self.next[i][1])


def _moved_lines(
    a: list[str], b: list[str], forward: list[int | None], gaps: _Gaps
) -> dict[int, int]:
    """Old unaligned strong lines whose exact text sits on an unaligned new line."""
    used = {j for j in forward if j is not None}
    free: dict[str, list[int]] = {}
    for j, key in enumerate(b):
        if j not in used and is_strong(key):
            free.setdefault(key, []).append(j)
    moved: dict[int, int] = {}
    for i, key in enumerate(a):
        spots = free.get(key) if forward[i] is None else None
        if spots:
            want = gaps.expected(i)
            j = min(spots, key=lambda s: (abs(s - want), s))
            spots.remove(j)
            moved[i] = j
    return moved


def _place(i: int, key: str, b: list[str], gaps: _Gaps) -> Placement:
    """Put an unidentified line between its neighbours: on its own text if the gap still has it,
    else on the gap's most similar line (an edited line usually stays recognisable), else by
    position."""
    window = gaps.window(i)
    want = gaps.expected(i)
    if len(window):
        lo = max(window.start, min(want, window.stop) - PLACE_SEARCH // 2)
        nearby = sorted(range(lo, min(window.stop, lo + PLACE_SEARCH)), key=lambda s: (abs(s - want), s))
        same = [j for j in nearby if b[j] == key]
        if same:
            return Placement(same[0], "equal")
        alike = _most_similar(key, b, nearby)
        spot = alike if alike is not None else min(max(want, window.start), window.stop - 1)
        return Placement(spot, "placed")
    after = gaps.next[i][1]
    if after < gaps.n_new:
        return Placement(after, "placed")
    before = gaps.prev[i][1]
    return Placement(before, "placed") if before >= 0 else Placement(None, "gone")


def _most_similar(key: str, b: list[str], spots: list[int]) -> int | None:
    """The spot whose text is most like ``key`` (ties: the nearest), if alike enough."""
    best, best_score = None, EDITED_SIMILARITY
    for j in spots:
        m = SequenceMatcher(None, key, b[j], autojunk=False)
        if m.real_quick_ratio() > best_score and m.quick_ratio() > best_score and m.ratio() > best_score:
            best, best_score = j, m.ratio()
    return best
