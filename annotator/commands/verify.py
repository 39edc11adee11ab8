"""``annotate verify``: every anchor in the course material, checked against the pinned tree.

Exit 0 when every anchor resolves, 1 when one does not, 2 when the tree is missing or a PATH
does not exist (raised as :class:`~annotator.errors.AnnotateError`). A document that cannot be
read (binary, not UTF-8) fails the run closed: the others are still checked and reported, then
each unreadable one is an ``error: path:line: ...`` line on stderr and the exit code is 2.

Formats: ``text`` (broken anchors grouped by document, then a summary line), ``json`` (one array
of every finding, ``ok`` included — DESIGN.md's contract) and ``github`` (``::error`` workflow
commands, a summary line, and the full report appended to ``$GITHUB_STEP_SUMMARY`` because
GitHub shows only the first ten annotations of a step). json and github never import rich.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

from annotator.anchors import doc_name, iter_documents, scan_file
from annotator.config import Config
from annotator.commands.upstream import checked_tree, describe
from annotator.errors import InputError
from annotator.index import open_index
from annotator.records import STATUSES, Anchor, Finding
from annotator.resolve import resolve


def run(config: Config, paths: list[Path], fmt: str, upstream: Path | None) -> int:
    """Scan ``paths`` (default: the configured docs), resolve against the tree, print, exit code."""
    tree, identity = checked_tree(config, upstream)
    docs = iter_documents(paths, config)
    anchors, unreadable = _scan_all(docs, config)
    findings = resolve(anchors, open_index(tree, config.cache_dir))
    summary = f"{summarize(findings, len(docs))}; checked against {describe(identity, tree)}"
    if fmt == "json":
        sys.stdout.write(json_array(findings))
    elif fmt == "github":
        _print_github(findings, summary)
    else:
        _print_text(findings, summary)
    for exc in unreadable:
        print(f"error: {exc}", file=sys.stderr)
    if unreadable:
        return InputError.exit_code
    return 1 if any(f.status != "ok" for f in findings) else 0


def _scan_all(docs: list[Path], config: Config) -> tuple[list[Anchor], list[InputError]]:
    anchors: list[Anchor] = []
    unreadable: list[InputError] = []
    for path in docs:
        try:
            anchors.extend(scan_file(path, doc_name(path, config.root)))
        except InputError as exc:
            unreadable.append(exc)
    return anchors, unreadable


def json_array(findings: list[Finding]) -> str:
    """One JSON array, one finding per line (the C encoder; diffs stay readable)."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    rows = ",\n".join(encode(f.to_json()) for f in findings)
    return f"[\n{rows}\n]\n" if rows else "[]\n"


def summarize(findings: list[Finding], n_docs: int) -> str:
    """One line: anchors, documents, ok, and the broken ones by status."""
    counts = Counter(f.status for f in findings)
    broken = len(findings) - counts["ok"]
    head = f"{_plural(len(findings), 'anchor')} in {_plural(n_docs, 'document')}: {counts['ok']} ok"
    if not broken:
        return head + ", none broken"
    parts = ", ".join(f"{counts[s]} {s}" for s in STATUSES if s != "ok" and counts[s])
    return f"{head}, {broken} broken ({parts})"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _broken_by_doc(findings: list[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        if f.status != "ok":
            groups.setdefault(f.anchor.doc, []).append(f)
    return groups


def _print_text(findings: list[Finding], summary: str) -> None:
    from rich.text import Text

    from annotator.commands.output import stdout

    console = stdout()
    for doc, group in _broken_by_doc(findings).items():
        console.print(Text(doc, style="bold"))
        for f in group:
            a = f.anchor
            console.print(Text.assemble(f"  {a.doc_line}:{a.doc_col}  ", (f.status, "red"), f"  {a.text}"))
            console.print(Text(f"      {f.message}"))
            if f.suggestion:
                console.print(Text.assemble("      suggestion: ", (f.suggestion, "green")))
    console.print(Text(summary, style="bold green" if "none broken" in summary else "bold red"))


def _print_github(findings: list[Finding], summary: str) -> None:
    out = sys.stdout
    for f in findings:
        if f.status == "ok":
            continue
        a = f.anchor
        props = f"file={_prop(a.doc)},line={a.doc_line},col={a.doc_col},title={_prop('anchor ' + f.status)}"
        fix = f" Suggestion: {f.suggestion}" if f.suggestion else ""
        out.write(f"::error {props}::{_data(f'{a.text}: {f.message}.{fix}')}\n")
    out.write(f"annotate verify: {summary}\n")
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        _append_step_summary(Path(target), step_summary(findings, summary))


def step_summary(findings: list[Finding], summary: str) -> str:
    """The markdown job summary: the summary line and a table of every broken anchor."""
    lines = ["## annotate verify", "", summary, ""]
    broken = [f for f in findings if f.status != "ok"]
    if broken:
        lines += ["| Document | Line | Anchor | Status | Message | Suggestion |", "|---|---|---|---|---|---|"]
        for f in broken:
            cells = [f.anchor.doc, str(f.anchor.doc_line), f"`{f.anchor.text}`", f.status, f.message,
                     f"`{f.suggestion}`" if f.suggestion else ""]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _append_step_summary(path: Path, markdown: str) -> None:
    """Append to the runner's summary file atomically (whole new file, renamed into place)."""
    from annotator.atomic import write_text

    before = path.read_text("utf-8", "replace") if path.exists() else ""
    write_text(path, before + markdown)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
