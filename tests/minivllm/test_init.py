"""Tests for minivllm/__init__.py: the public surface."""

from __future__ import annotations

import minivllm


def test_public_surface_is_exactly_the_intended_names() -> None:
    """Only the user-facing API is exported from the package root."""
    assert sorted(minivllm.__all__) == sorted(
        ["LLM", "SamplingParams", "RequestOutput", "CompletionOutput", "Logprob", "RequestOutputKind",
         "LoRARequest", "StructuredOutputsParams"]
    )
    for name in minivllm.__all__:
        assert getattr(minivllm, name).__module__.startswith("minivllm.")
