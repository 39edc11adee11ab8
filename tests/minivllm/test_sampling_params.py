"""Tests for minivllm.sampling_params."""

from __future__ import annotations

import pytest

from minivllm.sampling_params import SamplingParams


@pytest.mark.parametrize(
    "kwargs",
    [
        {"temperature": -0.1},
        {"top_p": 0.0},
        {"top_k": -2},
        {"min_p": 1.5},
        {"max_tokens": 0},
        {"min_tokens": 5, "max_tokens": 2},
        {"presence_penalty": 3.0},
        {"repetition_penalty": 0.0},
        {"stop": [""]},
        {"stop": ["x"], "detokenize": False},
        {"n": 0},
    ],
)
def test_invalid_values_are_rejected(kwargs: dict) -> None:
    """Out-of-range settings raise ValueError at construction."""
    with pytest.raises(ValueError):
        SamplingParams(**kwargs)


def test_normalisation() -> None:
    """A single stop string, lists and top_k=-1 are normalised."""
    p = SamplingParams(stop="END", stop_token_ids=[3, 4], top_k=-1)
    assert p.stop == ("END",) and p.stop_token_ids == (3, 4) and p.top_k == 0


def test_greedy_and_penalty_flags() -> None:
    """is_greedy follows temperature; has_penalties follows any non-neutral penalty."""
    assert SamplingParams(temperature=0).is_greedy
    assert not SamplingParams(temperature=0.5).is_greedy
    assert not SamplingParams().has_penalties
    assert SamplingParams(frequency_penalty=0.1).has_penalties
    assert SamplingParams(repetition_penalty=1.2).has_penalties


def test_frozen() -> None:
    """Params are immutable so one instance can be shared by many requests."""
    p = SamplingParams()
    with pytest.raises(AttributeError):
        p.temperature = 2.0  # type: ignore[misc]


def test_structured_outputs_params_normalise_choice() -> None:
    """A choice list is stored as a tuple, so params stay immutable and comparable."""
    from minivllm.sampling_params import StructuredOutputsParams

    params = StructuredOutputsParams(choice=["a", "b"])
    assert params.choice == ("a", "b")
    assert SamplingParams(structured_outputs=params).structured_outputs == StructuredOutputsParams(choice=("a", "b"))
