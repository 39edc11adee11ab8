"""Terminal output shared by the commands: consoles and progress bars."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


def stdout() -> Console:
    """Console for results (stdout); plain when not a terminal so pipes get clean text."""
    return Console(highlight=False, soft_wrap=True)


def stderr() -> Console:
    """Console for progress and warnings, so ``--format json`` stdout stays parseable."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator:
    """A rich progress bar on stderr; a callable ``update(phase, done, total)`` is yielded.

    Disabled (a no-op callable) when stderr is not a terminal, so CI logs stay readable.
    """
    if not (enabled and sys.stderr.isatty()):
        yield lambda phase, done, total: None
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    tasks: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description:>10}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=stderr(),
        transient=True,
    ) as bar:

        def update(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update
