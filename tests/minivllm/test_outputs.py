"""Tests for minivllm.outputs."""

from __future__ import annotations

import dataclasses

import pytest

from minivllm.outputs import EngineCoreOutput, Logprob
from minivllm.request import FinishReason


def test_engine_core_output_finished_follows_reason() -> None:
    """An update is final exactly when it carries a finish reason."""
    assert not EngineCoreOutput("r", (1,)).finished
    assert EngineCoreOutput("r", (1,), finish_reason=FinishReason.STOP).finished


def test_records_are_frozen() -> None:
    """Output records cannot be modified after they cross a boundary."""
    lp = Logprob(-0.5, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        lp.rank = 2  # type: ignore[misc]
