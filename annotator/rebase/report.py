"""The review report: one markdown page a course maintainer works through after a rebase.

Per document, in reading order, every anchor that did more than move: vanished (with the best
guesses and their evidence), renamed, split, merged, moved to another file, removed, and every
one whose cited code changed (with the unified diff of that code). Anchors that only moved are
counted, not listed: they need no reading.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from annotator.rebase.rebased import REBASE_STATUSES, Location, Rebased
from annotator.rebase.review import review_diff
from annotator.rebase.tree import TreeView

MAX_DIFF_LINES = 60
_PLACE = re.compile(r"([\w./-]+\.[A-Za-z0-9]+):(L?\d+)")
_HEADINGS = {
    "missing": "vanished — needs a decision",
    "removed": "removed upstream",
    "renamed": "renamed",
    "split": "split",
    "merged": "merged",
    "moved-file": "moved to another file",
}


def needs_review(rec: Rebased) -> bool:
    """True for every anchor that did not simply move."""
    return rec.status not in ("unchanged", "moved") or rec.body_changed


def render_report(records: Sequence[Rebased], old: TreeView, new: TreeView, chain: Sequence[str]) -> str:
    """The whole report as markdown text."""
    counts = Counter(r.status for r in records)
    listed = [r for r in records if needs_review(r)]
    out = [
        f"# Since the pin: {old.version} → {new.version}",
        "",
        f"Releases stepped through: {' → '.join(chain)}.",
        "",
        "| status | anchors |",
        "|---|---|",
        *(f"| {s} | {counts[s]} |" for s in REBASE_STATUSES if counts[s]),
        f"| code changed | {sum(r.body_changed for r in records)} |",
        "",
        f"{len(listed)} of {len(records)} anchors need a look; the others only moved.",
    ]
    decisions = [r for r in listed if r.status not in ("unchanged", "moved", "moved-file")]
    if decisions:
        out += ["", "## Decisions first", "",
                "Anchors whose symbol vanished, was renamed, split, merged or removed (details below):", ""]
        out += [f"- {r.anchor.doc}:{r.anchor.doc_line} — {r.status}"
                f"{' in ' + r.release if r.release else ''}: `{_md(r.anchor.text)}`"
                + (f" → `{r.successor}`" if r.successor else "") for r in decisions]
    by_doc: dict[str, list[Rebased]] = {}
    for r in listed:
        by_doc.setdefault(r.anchor.doc, []).append(r)
    shown: dict[tuple, str] = {}  # one diff per piece of cited code; later anchors point back
    for doc in sorted(by_doc):
        out += ["", f"## {doc}", ""]
        for r in sorted(by_doc[doc], key=lambda r: (r.anchor.doc_line, r.anchor.doc_col)):
            out += entry(r, old, new, shown)
    return "\n".join(defuse(x) for x in out) + "\n"


def defuse(line: str) -> str:
    """The line with every ``path:line`` written ``path line N``, so the report is no citation.

    A report saved among the documents must not be checked as course material: its places in
    the target release would all be broken anchors against the pinned tree. Diff bodies (code)
    are left alone; diff headers are defused.
    """
    if line[:1] in (" ", "+", "-", "@") and not line.startswith(("+++", "---", "- ")):
        return line
    return _PLACE.sub(lambda m: f"{m.group(1)} line {m.group(2)}", line).replace("#L", "#line-")


def entry(r: Rebased, old: TreeView, new: TreeView, shown: dict[tuple, str] | None = None) -> list[str]:
    """The lines of one anchor's entry: what happened, since when, how sure, and why.

    ``shown`` remembers the code already diffed (by its old and new spans), so an anchor citing
    the same code again refers to the first entry instead of repeating the diff.
    """
    what = _HEADINGS.get(r.status, "code changed")
    lines = [f"### line {r.anchor.doc_line}: `{_md(r.anchor.text)}` — {what}", ""]
    lines.append(f"- was: `{_loc(r.old)}`" + (f" ({old.version})" if old.version else ""))
    if r.new is not None:
        lines.append(f"- now: `{_loc(r.new)}`" + (f" ({new.version})" if new.version else ""))
    if r.successor:
        lines.append(f"- successor: `{r.successor}`")
    if r.release:
        lines.append(f"- since release: {r.release}")
    if r.status not in ("missing", "removed"):
        lines.append(f"- confidence: {r.confidence:.2f}")
    if r.message:
        lines.append(f"- note: {_md(r.message)}")
    for e in r.evidence:
        lines.append(f"- evidence: {_md(e)}")
    label = "other pieces" if r.status == "split" else "candidates"
    if r.new is None and r.release and r.candidates:
        lines.append(f"- candidates are places in {r.release}, the release the name went in")
    for i, c in enumerate(r.candidates, 1):
        lines.append(f"- {label} {i}: {_md(c)}")
    key = (r.old_span, r.new_span)
    if shown is not None and r.body_changed and key in shown:
        return lines + [f"- code changed: the same code as under {shown[key]}", ""]
    diff = review_diff(r, old, new)
    if diff and shown is not None:
        shown[key] = f"{r.anchor.doc}:{r.anchor.doc_line}"
    if diff:
        head = diff[:MAX_DIFF_LINES]
        lines += ["", "```diff", *head, "```"]
        if len(diff) > len(head):
            lines.append(f"… {len(diff) - len(head)} more diff lines")
    return lines + [""]


def _loc(loc: Location) -> str:
    return loc.place() + (f" — {loc.label}" if loc.label else "")


def _md(text: str) -> str:
    """Text safe inside a markdown list item or a code span (no backtick breaks out)."""
    return text.replace("`", "'").replace("\n", " ")
