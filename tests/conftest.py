"""Fixtures shared across the suite: the real pinned tree, fetched once and cached."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from annotator import config as config_mod
from annotator import fetch, pin

ROOT = Path(__file__).resolve().parents[1]

# Triton decides when it is first imported whether kernels run in its CPU interpreter (its own
# library functions are decorated then). Without a GPU, lab 02.07 runs its kernels there, so the
# whole session must say so before any module (xgrammar, minivllm.kernels) imports triton.
if shutil.which("nvidia-smi") is None:
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture(scope="session")
def project_config() -> config_mod.Config:
    """The repository's own configuration (pyproject.toml's [tool.annotate])."""
    return config_mod.load(ROOT)


@pytest.fixture(scope="session")
def upstream_tree(project_config: config_mod.Config) -> Path:
    """The pinned vLLM tree in upstream/, fetched through the real pinned path (cached sdist)."""
    the_pin = pin.read(project_config.pin_file)
    fetch.fetch_pin(
        the_pin, project_config.upstream_dir, project_config.cache_dir, None, lambda *a: None
    )
    return project_config.upstream_dir
