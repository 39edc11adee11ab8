"""The site step of ``annotate build``: mkdocs, with the project's mkdocs.yml, into ``site/``.

mkdocs writes page after page into its output directory, so the build goes to a staging
directory beside ``site/`` and replaces it only when it succeeded: a browser pointed at
``site/`` never sees half a site, and a failed or refused (strict) build leaves the previous
one in place. Exit codes: 0 built; 1 strict and some anchor is broken (or mkdocs warned); 2 an
error stopped the build (raised as :class:`~annotator.errors.AnnotateError`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from annotator.atomic import staging_dir, swap_dir
from annotator.commands.output import stderr, stdout
from annotator.config import Config
from annotator.errors import AnnotateError, ConfigError


@dataclass(frozen=True)
class SiteReport:
    """What one build produced: figures for the summary line and ``bench/site.py``."""

    pages: int
    bytes: int
    seconds: float
    broken: int
    warnings: tuple[str, ...]


def run(config: Config, strict: bool) -> int:
    """Build the site into ``config.site.site_dir``; see the module docstring for exit codes."""
    target = config.root / config.site.site_dir
    with staging_dir(target.parent, f".{target.name}-staging-") as tmp:
        mkdocs_yml = config.root / "mkdocs.yml"
        if not mkdocs_yml.is_file():
            from annotator.commands.site_default import write_builtin

            mkdocs_yml = write_builtin(config, tmp)
        report = build_into(config, tmp / "site", mkdocs_yml)
        console = stdout()
        console.print(
            f"site: {report.pages} pages, {report.bytes / 1e6:.1f} MB, {report.seconds:.1f} s, "
            f"{report.broken} broken anchor{'' if report.broken == 1 else 's'}"
        )
        if strict and (report.broken or report.warnings):
            stderr().print(
                f"site: not published ({len(report.warnings)} warnings in strict mode); "
                f"{target} is unchanged. Fix them, or build with --no-strict to see them on the pages."
            )
            return 1
        swap_dir(tmp / "site", target, tmp / "previous")  # the old site is removed with tmp
    console.print(f"site: open {target / 'index.html'}, or run `mkdocs serve`")
    return 0


def build_into(config: Config, out: Path, mkdocs_yml: Path | None = None) -> SiteReport:
    """Run mkdocs with ``mkdocs_yml`` (default: the project's) into ``out``, collecting warnings."""
    from annotator.commands.upstream import require_tree

    mkdocs_yml = mkdocs_yml or config.root / "mkdocs.yml"
    if not mkdocs_yml.is_file():
        raise ConfigError(f"{mkdocs_yml}: missing; the site needs the project's mkdocs.yml")
    require_tree(config)
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    started = time.perf_counter()
    with _collect_warnings() as warnings:
        try:
            cfg = load_config(config_file=str(mkdocs_yml), site_dir=str(out))
            cfg.plugins.on_startup(command="build", dirty=False)
            try:
                build(cfg)
            finally:
                cfg.plugins.on_shutdown()
        except MkDocsException as exc:
            raise AnnotateError(f"{mkdocs_yml}: the site build failed: {exc}") from None
    plugin = cfg.plugins.get("annotate")
    broken = len(plugin.broken) if plugin is not None else 0
    pages, size = _measure(out)
    return SiteReport(pages, size, time.perf_counter() - started, broken, tuple(warnings))


@contextmanager
def _collect_warnings() -> Iterator[list[str]]:
    """mkdocs' warnings, printed to stderr as they come and kept for the strict verdict."""
    found: list[str] = []
    console = stderr()

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            found.append(message)
            console.print(f"warning: {message}", markup=False)

    handler = Handler(logging.WARNING)
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    try:
        yield found
    finally:
        logger.removeHandler(handler)


def _measure(out: Path) -> tuple[int, int]:
    pages = size = 0
    for dirpath, _, names in os.walk(out):
        for name in names:
            size += os.path.getsize(os.path.join(dirpath, name))
            pages += name.endswith(".html") and name != "404.html"
    return pages, size

