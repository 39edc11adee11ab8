"""``annotate rebase --to VERSION``: re-anchor every citation to another upstream release.

Fetches and indexes the target in the cache (never in upstream/), maps every anchor of the
documents from the pinned tree to it, and — unless ``--dry-run`` — rewrites the anchors in place,
moves the pin and swaps upstream/ to the new tree, all or nothing. Exit 0 when every anchor
mapped, 1 when some are missing, 2 on errors (raised as AnnotateError).

The text report lists every anchor that moved or needs attention, then the unified diff of each
piece of cited code that changed, so a maintainer can review the prose in one read.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from annotator import fetch, pin
from annotator.commands.output import progress_bar, stdout
from annotator.commands.upstream import describe, pinned_tree
from annotator.config import Config
from annotator.errors import TreeMissingError
from annotator.fetch import Release
from annotator.rebase import REBASE_STATUSES, Location, Rebased, TreeView
from annotator.records import TreeIdentity
from annotator.tree_id import is_checkout

MAX_DIFF_LINES = 120  # per piece of code; a rewritten 7,000-line class is summarised, not dumped


def run(
    config: Config, to: str, paths: list[Path], dry_run: bool, fmt: str,
    via: str = "all", min_confidence: float | None = None, report: Path | None = None,
) -> int:
    """Map along the release chain (``via``), report and (unless ``dry_run``) rewrite; the exit code.

    ``report`` names a markdown file that receives the review report (written even on a dry run).
    """
    from annotator.rebase import commit, pin_for
    from annotator.rebase.successors import MIN_CONFIDENCE

    the_pin, identity, configured = _pinned(config)
    checkout = is_checkout(config.upstream_dir)
    started = time.perf_counter()
    with progress_bar(fmt == "text") as update:
        release, new_root, trees = _target(config, the_pin, to, via, update)
        chain = (trees, MIN_CONFIDENCE if min_confidence is None else min_confidence)
        old, new, records, changes, scanned = _map(config, paths, the_pin, release, new_root, update, dry_run, chain)
    if not dry_run:
        commit(
            changes,
            pin_file=config.pin_file if configured else None,
            pin_page=config.pin_page if configured else None,
            new_pin=pin_for(release, new_root) if release and configured else None,
            upstream=config.upstream_dir,
            new_tree=new_root if release and not checkout else None,
            scanned=scanned,
        )
    seconds = time.perf_counter() - started
    if report is not None:
        from annotator.atomic import write_text
        from annotator.rebase.report import render_report

        write_text(report, render_report(records, old, new, [t.version for t in trees]))
    if fmt == "json":
        sys.stdout.write(json.dumps([r.to_json() for r in records], ensure_ascii=False, indent=1) + "\n")
    else:
        outcome = _outcome(dry_run, release, the_pin, changes, new.version)
        head = f"{summarize(records, len(scanned))}; from {describe(identity, config.upstream_dir)}; {outcome} ({seconds:.2f} s)"
        _print_text(records, old, new, head)
        if release and checkout and not dry_run:
            stdout().print(f"upstream/ is a git checkout; move it with: {checkout_command(config, release.version)}", markup=False)
    return 1 if any(r.status in ("missing", "removed") for r in records) else 0


def checkout_command(config: Config, version: str) -> str:
    """The one git command that moves a cloned upstream to the release the documents now cite."""
    where = config.upstream_dir
    try:
        where = where.relative_to(config.root)
    except ValueError:
        pass
    return f"git -C {where.as_posix()} fetch --tags && git -C {where.as_posix()} checkout v{version}"


def _pinned(config: Config) -> tuple[pin.Pin, TreeIdentity, bool]:
    """The pin (configured, or the tree's own identity), the identity of upstream/, and whether a
    pin is configured (only then does rebase move one)."""
    _, identity, the_pin = pinned_tree(config)
    configured = the_pin is not None
    if the_pin is None:
        if not (identity.package and identity.version):
            raise TreeMissingError(
                f"{config.upstream_dir}: cannot tell which release this tree is ({identity.summary()}); "
                "tag the checkout or run `annotate init --version V`"
            )
        the_pin = pin.Pin(identity.package, identity.version, identity.commit or "", "", "0" * 64)
    elif not is_checkout(config.upstream_dir):
        _check_pinned_tree(config, the_pin)
    return the_pin, identity, configured


def _map(
    config: Config, paths: list[Path], the_pin: pin.Pin, release: Release | None, new_root: Path, update,
    dry_run: bool, chain,
):
    """Scan the documents, resolve them in the pinned tree, map them along the chain, plan the rewrite."""
    from annotator.anchors import iter_documents
    from annotator.index import open_index
    from annotator.rebase import plan
    from annotator.rebase.chain import walk
    from annotator.resolve import resolve

    documents = _read(iter_documents(paths, config), config)
    anchors = [a for _, _, found in documents.values() for a in found]
    findings = resolve(anchors, open_index(config.upstream_dir, config.cache_dir, progress=update))
    trees, min_confidence = chain
    # the walk opens each tree itself and holds two at most; the views below only read lines
    records = walk(findings, trees, lambda root: open_index(root, config.cache_dir), cache_dir=config.cache_dir,
                   min_confidence=min_confidence, progress=update)
    old_index = open_index(config.upstream_dir, config.cache_dir)
    new_index = old_index if release is None else open_index(new_root, config.cache_dir)
    old = TreeView(old_index, the_pin.version)
    new = TreeView(new_index, release.version if release else the_pin.version)
    for r in records:  # read the cited code now: a real rebase swaps upstream/ before the report
        if r.old_span is not None:
            old.lines(r.old_span.path)
    texts = {d: (p, data) for d, (p, data, _) in documents.items()}
    records, changes = plan(records, texts, new_index.paths, through_cst=not dry_run)
    records.sort(key=lambda r: (r.anchor.doc, r.anchor.doc_line, r.anchor.doc_col))
    return old, new, records, changes, {p: data for p, data, _ in documents.values()}


def _check_pinned_tree(config: Config, the_pin: pin.Pin) -> None:
    marker = fetch.read_marker(config.upstream_dir)
    if not marker or marker.get("version") != the_pin.version:
        raise TreeMissingError(
            f"{config.upstream_dir}: does not hold the pinned {the_pin.package} {the_pin.version}; "
            "run `annotate fetch` first"
        )


def _target(config: Config, the_pin: pin.Pin, to: str, via: str, update):
    """The target release, its tree and the chain of trees from the pinned one to it.

    (None, upstream/, [pinned]) when the target is the pinned release. ``--via none`` with an
    exact version already in the cache asks no index.
    """
    from annotator.rebase.chain import Tree
    from annotator.rebase.releases import release_chain

    pinned = Tree(the_pin.version, the_pin.sha256 + the_pin.commit, config.upstream_dir)
    wanted = to.removeprefix("v")
    if wanted == the_pin.version:
        return None, config.upstream_dir, [pinned]
    if via == "none":
        cached = _cached(config, the_pin.package, wanted)
        release, root = cached or fetch.fetch_version(to, the_pin.package, config.cache_dir, None, update)
        trees = [pinned, Tree(release.version, release.sha256 or "", root)]
    else:
        trees, release = release_chain(the_pin.package, pinned, to, via, config.cache_dir, None, update)
        root = trees[-1].root
    if release is None or release.version == the_pin.version:
        return None, config.upstream_dir, [pinned]
    return release, root, trees


def _cached(config: Config, package: str, version: str) -> tuple[Release, Path] | None:
    """An exact version already materialised (and hash-checked) in the cache: no index query."""
    tree = config.cache_dir / "trees" / f"{package}-{version}"
    sdist = config.cache_dir / "sdists" / f"{package}-{version}.tar.gz"
    marker = fetch.read_marker(tree)
    if not (marker and marker.get("version") == version and marker.get("sha256") and sdist.is_file()):
        return None
    return Release(package, version, sdist.name, sdist.as_uri(), marker["sha256"]), tree


def _read(docs: list[Path], config: Config) -> dict[str, tuple[Path, bytes, list]]:
    """doc name → (file, its bytes, its anchors): each document is read once, so the rewrite
    applies to exactly the text that was scanned.

    An unreadable document (binary, not UTF-8) stops the rebase before anything is written: the
    pin must never move while one document keeps anchors into the old release.
    """
    from annotator.anchors import doc_name, read_document, scan_text

    out = {}
    for path in docs:
        data, text = read_document(path)  # InputError (path:line: why) → exit 2, nothing written
        name = doc_name(path, config.root)
        out[name] = (path, data, scan_text(text, name, python=path.suffix == ".py"))
    return out


def summarize(records: list[Rebased], n_docs: int) -> str:
    """One line: anchors, documents, counts by status, and how many need a re-read."""
    counts = Counter(r.status for r in records)
    parts = ", ".join(f"{counts[s]} {s}" for s in REBASE_STATUSES if counts[s])
    changed = sum(r.body_changed for r in records)
    return f"{len(records)} anchors in {n_docs} documents: {parts or 'none'}; {changed} cite changed code"


def _outcome(dry_run: bool, release: Release | None, the_pin: pin.Pin, changes: dict, version: str) -> str:
    if release is None:
        return f"already pinned to {the_pin.package} {the_pin.version}: nothing to do"
    verb = "would rewrite" if dry_run else "rewrote"
    moved = "" if dry_run else f"; pin and upstream/ moved to {release.package} {version}"
    return f"{verb} {len(changes)} documents{moved}" + (" (dry run: nothing written)" if dry_run else "")


def _loc(loc: Location | None) -> str:
    return "—" if loc is None else loc.place()


def _print_text(records: list[Rebased], old: TreeView, new: TreeView, summary: str) -> None:
    from rich.text import Text

    from annotator.rebase import review_diff

    console = stdout()
    style = {"missing": "red", "removed": "red", "renamed": "yellow", "split": "yellow", "merged": "yellow",
             "moved-file": "yellow", "moved": "cyan"}
    for r in records:
        if r.status == "unchanged" and not r.body_changed:
            continue
        flags = f"  confidence {r.confidence:.2f}" + ("  code changed" if r.body_changed else "")
        console.print(Text.assemble(
            f"{r.anchor.doc}:{r.anchor.doc_line}  ", (f"{r.status:<10}", style.get(r.status, "")),
            f"  {_loc(r.old)} → {_loc(r.new)}  {r.anchor.label or ''}{flags}",
        ))
        notes = ([f"since {r.release}"] if r.release else []) + ([r.message] if r.message else [])
        notes += [f"evidence: {e}" for e in r.evidence]
        label = "other piece" if r.status == "split" else "candidate"
        for note in notes + [f"{label}: {c}" for c in r.candidates]:
            console.print(Text(f"      {note}"))
    shown: set[tuple] = set()
    diffs = [(r, d) for r in records if (d := review_diff(r, old, new))]
    if diffs:
        console.print(Text(f"\nCode changed under {len(diffs)} anchors — re-read the prose around them:", style="bold"))
    for r, diff in diffs:
        key = (r.old_span, r.new_span)
        if key in shown:
            console.print(Text(f"\n{r.anchor.doc}:{r.anchor.doc_line}: same code as shown above"))
            continue
        shown.add(key)
        console.print(Text(f"\n{r.anchor.doc}:{r.anchor.doc_line}  {r.anchor.text}", style="bold"))
        for line in diff[:MAX_DIFF_LINES]:
            console.print(Text(line, style={"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")))
        if len(diff) > MAX_DIFF_LINES:
            console.print(Text(f"… {len(diff) - MAX_DIFF_LINES} more diff lines"))
    console.print(Text(summary, style="bold"))
