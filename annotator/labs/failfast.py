"""A pytest plugin for mutant rounds: once a lab's test file has a failure, skip the rest of it.

A mutant is killed by its first failing test; running the lab's remaining tests only costs time
(and a mutant can make a later test loop for long). Load with ``-p annotator.labs.failfast``.
"""

from __future__ import annotations

import pytest

FAILED_FILES = pytest.StashKey[set]()


def pytest_configure(config: pytest.Config) -> None:
    """Start the run with no failed files (kept in the run's stash, not a global)."""
    config.stash[FAILED_FILES] = set()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a test whose file already failed: its mutant is dead."""
    if str(item.path) in item.config.stash[FAILED_FILES]:
        pytest.skip("mutant already killed by an earlier test of this lab")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # noqa: ANN201
    """Remember the files that have a failing test."""
    outcome = yield
    if outcome.get_result().failed:
        item.config.stash[FAILED_FILES].add(str(item.path))
