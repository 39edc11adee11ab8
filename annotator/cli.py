"""The ``annotate`` command line: argument parsing only.

Each command lazily imports its module under :mod:`annotator.commands` (so ``--help`` is instant)
and returns that module's exit code: 0 success, 1 findings, 2 usage/config/I-O error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from annotator.errors import AnnotateError

app = typer.Typer(
    name="annotate",
    help=(
        "Keep citations into vLLM's source true: fetch the pinned tree, index it, verify every "
        "anchor, re-anchor them to a new release, map the code and build the annotated-source site."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
graph_app = typer.Typer(help="Import and call graphs of a Python tree.", no_args_is_help=True)
lab_app = typer.Typer(help="The engine labs: list, test, regenerate starters.", no_args_is_help=True)
app.add_typer(graph_app, name="graph")
app.add_typer(lab_app, name="lab")

FormatOpt = Annotated[str, typer.Option("--format", "-f", help="Output format.")]
Paths = Annotated[
    Optional[list[Path]],
    typer.Argument(help="Markdown or Python files or directories; default: the configured docs."),
]


UpstreamOpt = Annotated[
    Optional[Path],
    typer.Option("--upstream", help="The upstream tree; default: the configured one, else upstream/."),
]


def _config(upstream: Path | None = None):
    from annotator import config
    from annotator.commands.recover import recover_pending

    return recover_pending(config.load(upstream=upstream))


def _check_format(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise typer.BadParameter(f"--format must be one of {', '.join(allowed)}, not {value!r}")
    return value


@app.command()
def fetch(
    version: Annotated[
        Optional[str], typer.Option(help="Release to fetch, e.g. 0.23.0 or v0.23 (newest 0.23.*).")
    ] = None,
    index_url: Annotated[
        Optional[str], typer.Option(help="PEP 503 simple index; default: the one pip uses.")
    ] = None,
    package: Annotated[
        Optional[str], typer.Option(help="PyPI package when no pin names one (default: vllm).")
    ] = None,
) -> int:
    """Materialise the pinned upstream tree in upstream/ (another --version goes to the cache)."""
    from annotator.commands import fetch as cmd

    return cmd.run(_config(), version, index_url, package)


@app.command("pin-page")
def pin_page(
    check: Annotated[bool, typer.Option(help="Only check that the page is fresh.")] = False,
) -> int:
    """Regenerate UPSTREAM_PIN.md from UPSTREAM_PIN.toml."""
    from annotator.commands import pinpage as cmd

    return cmd.run(_config(), check)


@app.command()
def index(
    stats: Annotated[bool, typer.Option(help="Print files, symbols, imports, calls, timing.")] = False,
    tree: Annotated[Optional[Path], typer.Option(help="Tree to index; default: upstream/.")] = None,
    fmt: FormatOpt = "text",
) -> int:
    """Index every class and function of the tree (parallel, cached by content hash)."""
    fmt = _check_format(fmt, ("text", "json"))
    from annotator.commands import index as cmd

    return cmd.run(_config(), stats, tree, fmt)


@graph_app.command("imports")
def graph_imports(
    fmt: FormatOpt = "json",
    root: Annotated[Optional[str], typer.Option(help="Only modules under PKG.MOD.")] = None,
    tree: Annotated[Optional[Path], typer.Option(help="Tree; default: upstream/.")] = None,
) -> int:
    """Module import graph (edges between modules of the tree)."""
    fmt = _check_format(fmt, ("json", "dot"))
    from annotator.commands import graph as cmd

    return cmd.run_imports(_config(), fmt, root, tree)


@graph_app.command("calls")
def graph_calls(
    fmt: FormatOpt = "json",
    root: Annotated[Optional[str], typer.Option(help="Only callers under PKG.MOD.")] = None,
    tree: Annotated[Optional[Path], typer.Option(help="Any Python tree; default: upstream/.")] = None,
    internal_only: Annotated[
        bool, typer.Option(help="Leave out builtins and callees outside the tree.")
    ] = False,
    show_unresolved: Annotated[
        bool, typer.Option(help="Print the unresolved and ambiguous call sites instead.")
    ] = False,
) -> int:
    """Function call graph: every function, lambda and calling module → sorted callees."""
    fmt = _check_format(fmt, ("json", "dot"))
    from annotator.commands import graph as cmd

    return cmd.run_calls(_config(), fmt, root, tree, internal_only=internal_only,
                         show_unresolved=show_unresolved)


@app.command("map")
def map_(
    dirs: Annotated[Optional[list[str]], typer.Argument(help="Subsystem dirs in the tree.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Where to write; default MAP.md.")] = None,
) -> int:
    """Write MAP.md: per file its role, importers and callers, plus a subsystem diagram."""
    from annotator.commands import mapcmd as cmd

    return cmd.run(_config(), dirs or None, out)


@app.command()
def verify(
    paths: Paths = None,
    fmt: FormatOpt = "text",
    upstream: UpstreamOpt = None,
) -> int:
    """Check every anchor: the file exists, the line is in range, the named symbol contains it.

    Works in any repository: with no configuration file, every *.md under the git top level
    (outside upstream/, build outputs, virtual environments and hidden folders) is checked
    against upstream/. Exit 0 all resolve, 1 some do not, 2 the tree or a file is missing.
    """
    fmt = _check_format(fmt, ("text", "json", "github"))
    from annotator.commands import verify as cmd

    return cmd.run(_config(upstream), paths or [], fmt, None)


@app.command()
def rebase(
    to: Annotated[str, typer.Option("--to", help="Target release, e.g. v0.23 or 0.23.0.")],
    paths: Paths = None,
    dry_run: Annotated[bool, typer.Option(help="Report only; write nothing.")] = False,
    fmt: FormatOpt = "text",
    via: Annotated[str, typer.Option(help="Releases to step through: all (every final release), minor, none.")] = "all",
    min_confidence: Annotated[
        Optional[float],
        typer.Option(min=0.0, max=1.0, help="Re-anchor a vanished symbol to its successor from this score on (0..1)."),
    ] = None,
    report: Annotated[Optional[Path], typer.Option(help="Write the review report (markdown) to this file.")] = None,
) -> int:
    """Re-anchor every citation to a newer release and list the code that needs a re-read."""
    fmt = _check_format(fmt, ("text", "json"))
    from annotator.commands import rebase as cmd

    return cmd.run(_config(), to, paths or [], dry_run, fmt, via, min_confidence, report)


@app.command()
def build(
    strict: Annotated[bool, typer.Option(help="Fail the site build on any broken anchor.")] = True,
) -> int:
    """The main job: fetch if needed → verify → map → build the site into site/."""
    from annotator.commands import build as cmd

    return cmd.run(_config(), strict)


@app.command()
def site(
    strict: Annotated[bool, typer.Option(help="Refuse to publish on any broken anchor.")] = False,
    upstream: UpstreamOpt = None,
) -> int:
    """Build the annotated-source site into site/: your markdown beside the cited source files.

    Uses the repository's mkdocs.yml when there is one; otherwise a built-in configuration renders
    the configured markdown documents and a source page for every cited upstream file.
    """
    from annotator.commands import site as cmd

    return cmd.run(_config(upstream), strict)


@app.command("config")
def config_(
    upstream: UpstreamOpt = None,
    fmt: FormatOpt = "text",
) -> int:
    """Print the resolved settings and where each came from (file, default or option)."""
    fmt = _check_format(fmt, ("text", "json"))
    from annotator.commands import configcmd as cmd

    return cmd.run(_config(upstream), fmt)


@app.command()
def init(
    upstream: UpstreamOpt = None,
    package: Annotated[Optional[str], typer.Option(help="The upstream package; default: the tree's, else vllm.")] = None,
    version: Annotated[Optional[str], typer.Option(help="The pinned release; default: the tree's.")] = None,
    index_url: Annotated[
        Optional[str], typer.Option(help="PEP 503 simple index for the sdist hash; default: pip's.")
    ] = None,
) -> int:
    """Write annotate.toml for this repository: its docs globs, upstream dir and pin.

    Never overwrites an existing file; prints the documents, anchors and tree it found and the
    next command to run.
    """
    from annotator.commands import initcmd as cmd

    return cmd.run(_config(upstream), package, version, index_url)


@lab_app.command("list")
def lab_list(fmt: FormatOpt = "text") -> int:
    """List every lab by phase with its tag."""
    fmt = _check_format(fmt, ("text", "json"))
    from annotator.commands import lab as cmd

    return cmd.run_list(_config(), fmt)


@lab_app.command("test")
def lab_test(
    lab: Annotated[str, typer.Argument(help="PHASE/LAB, e.g. phase-02-paged-attention/lab-01-...")],
    starter: Annotated[bool, typer.Option(help="Test your starter.py instead.")] = False,
) -> int:
    """Run one lab's tests against its solution (or your starter)."""
    from annotator.commands import lab as cmd

    return cmd.run_test(_config(), lab, starter)


@lab_app.command("stub")
def lab_stub(
    check: Annotated[bool, typer.Option(help="Only report stale starters (exit 1).")] = False,
) -> int:
    """Regenerate every generated starter.py from its minivllm solution."""
    from annotator.commands import lab as cmd

    return cmd.run_stub(_config(), check)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code instead of raising SystemExit (tests call it directly)."""
    try:
        result = app(args=argv, standalone_mode=False)
    except AnnotateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 2
    except typer.TyperException as exc:  # usage errors: bad option, missing argument, bad value
        show = getattr(exc, "show", None)
        if show:
            show()
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
