"""A request's constraint and its grammar state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from minivllm.structured_output.backend_types import (
    StructuredOutputGrammar,
    StructuredOutputKey,
    StructuredOutputOptions,
)


# upstream: vllm/v1/structured_output/request.py:77 — get_structured_output_key()
def get_structured_output_key(params: Any) -> StructuredOutputKey:
    """Canonical ``(kind, text)`` for a ``StructuredOutputsParams``.

    Raises:
        ValueError: When no constraint is set.
    """
    if params.json is not None:
        text = params.json if isinstance(params.json, str) else json.dumps(params.json)
        return StructuredOutputOptions.JSON, text
    if params.json_object:
        return StructuredOutputOptions.JSON_OBJECT, ""
    if params.regex is not None:
        return StructuredOutputOptions.REGEX, params.regex
    if params.choice is not None:
        return StructuredOutputOptions.CHOICE, json.dumps(list(params.choice))
    if params.grammar is not None:
        return StructuredOutputOptions.GRAMMAR, params.grammar
    raise ValueError("structured output params set no constraint")


# upstream: vllm/v1/structured_output/request.py:22 — StructuredOutputRequest
@dataclass
class StructuredOutputRequest:
    """Per-request state: the constraint, and the matcher once compiled.

    Attributes:
        key: The canonical constraint.
        grammar: The request's matcher (set by the manager when the request
            is added; compilation is synchronous here).
    """

    key: StructuredOutputKey
    grammar: StructuredOutputGrammar | None = field(default=None, repr=False)

    @classmethod
    def from_params(cls, params: Any) -> StructuredOutputRequest | None:
        """The state for a request's ``structured_outputs`` params (None if unset)."""
        return None if params is None else cls(get_structured_output_key(params))
