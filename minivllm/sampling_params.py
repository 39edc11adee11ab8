"""How one request wants its tokens chosen and when it wants to stop."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

SAMPLING_EPS = 1e-5
"""Temperatures below this are treated as greedy: dividing by a near-zero
temperature overflows, and the result would be argmax anyway."""


# upstream: vllm/sampling_params.py:151 — RequestOutputKind
class RequestOutputKind(enum.Enum):
    """What each ``RequestOutput`` of a request carries.

    CUMULATIVE: everything so far, every step. DELTA: only what is new since
    the previous output (streaming). FINAL_ONLY: one output, at the end.
    """

    CUMULATIVE = 0
    DELTA = 1
    FINAL_ONLY = 2


# upstream: vllm/sampling_params.py:41 — StructuredOutputsParams
@dataclass(frozen=True)
class StructuredOutputsParams:
    """A constraint the output must satisfy; set exactly one field.

    Attributes:
        json: A JSON schema (dict or JSON text); the output is one JSON
            value valid under it.
        regex: A regular expression the whole output must match.
        choice: The output is exactly one of these strings.
        grammar: An EBNF grammar (xgrammar dialect, rule ``root``).
        json_object: Any JSON object.
    """

    json: str | dict[str, Any] | None = None
    regex: str | None = None
    choice: tuple[str, ...] | None = None
    grammar: str | None = None
    json_object: bool = False

    def __post_init__(self) -> None:
        if self.choice is not None:
            object.__setattr__(self, "choice", tuple(self.choice))
        chosen = [self.json is not None, self.regex is not None, self.choice is not None,
                  self.grammar is not None, self.json_object]
        if sum(chosen) != 1:
            raise ValueError("set exactly one of json, regex, choice, grammar, json_object")


# upstream: vllm/sampling_params.py:168 — SamplingParams
@dataclass(frozen=True)
class SamplingParams:
    """Sampling and stopping options for one request.

    Frozen so one instance can be shared by many requests without one
    request's change leaking into another. Lists given for ``stop`` and
    ``stop_token_ids`` are stored as tuples.

    Attributes:
        temperature: 0 means greedy; larger flattens the distribution.
        top_k: Keep only the k most likely tokens; 0 or -1 keeps all.
        top_p: Keep the smallest set of tokens whose probability reaches p.
        min_p: Drop tokens less likely than ``min_p`` times the top token.
        repetition_penalty: > 1 discourages any token already in the prompt
            or output (multiplicative, as in the CTRL paper).
        presence_penalty: Subtracted once from tokens already generated.
        frequency_penalty: Subtracted per occurrence in the generated text.
        seed: Per-request seed; the same seed gives the same tokens no matter
            which other requests share the batch.
        max_tokens: Upper bound on generated tokens.
        min_tokens: EOS, stop tokens and stop strings are ignored before this.
        stop: Strings that end generation when they appear in the text.
        stop_token_ids: Token ids that end generation (EOS aside).
        ignore_eos: Keep going past the EOS token (used by benchmarks).
        include_stop_str_in_output: Keep the matched stop string in the text.
        logprobs: Return this many top log-probs per generated token (plus the
            sampled token's); None returns none.
        detokenize: Build output text (needed for stop strings).
        n: Independent samples to generate from the prompt; the prompt is
            computed once and its KV shared by all of them.
        structured_outputs: A grammar constraint on the output, or None.
        output_kind: Cumulative, delta or final-only outputs (see
            ``RequestOutputKind``); ``LLM.generate`` and ``LLM.stream`` set it.
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int | None = None
    max_tokens: int = 16
    min_tokens: int = 0
    stop: tuple[str, ...] = field(default=())
    stop_token_ids: tuple[int, ...] = field(default=())
    ignore_eos: bool = False
    include_stop_str_in_output: bool = False
    logprobs: int | None = None
    detokenize: bool = True
    n: int = 1
    structured_outputs: StructuredOutputsParams | None = None
    output_kind: RequestOutputKind = RequestOutputKind.CUMULATIVE

    # upstream: vllm/sampling_params.py:398 — SamplingParams.__post_init__()
    def __post_init__(self) -> None:
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        object.__setattr__(self, "stop", tuple(self.stop))
        object.__setattr__(self, "stop_token_ids", tuple(self.stop_token_ids))
        if self.top_k == -1:
            object.__setattr__(self, "top_k", 0)
        self._verify_args()

    # upstream: vllm/sampling_params.py:452 — SamplingParams._verify_args()
    def _verify_args(self) -> None:
        """Reject values that would silently produce nonsense later."""
        checks = [
            (self.temperature >= 0.0, f"temperature must be >= 0, got {self.temperature}"),
            (self.top_k >= 0, f"top_k must be -1, 0 or positive, got {self.top_k}"),
            (0.0 < self.top_p <= 1.0, f"top_p must be in (0, 1], got {self.top_p}"),
            (0.0 <= self.min_p <= 1.0, f"min_p must be in [0, 1], got {self.min_p}"),
            (self.repetition_penalty > 0.0, "repetition_penalty must be > 0"),
            (-2.0 <= self.presence_penalty <= 2.0, "presence_penalty must be in [-2, 2]"),
            (-2.0 <= self.frequency_penalty <= 2.0, "frequency_penalty must be in [-2, 2]"),
            (self.max_tokens >= 1, f"max_tokens must be >= 1, got {self.max_tokens}"),
            (0 <= self.min_tokens <= self.max_tokens, "min_tokens must be in [0, max_tokens]"),
            (self.logprobs is None or self.logprobs >= 0, "logprobs must be >= 0"),
            (all(self.stop), "stop strings must be non-empty"),
            (self.detokenize or not self.stop, "stop strings need detokenize=True"),
            (self.n >= 1, f"n must be >= 1, got {self.n}"),
            # The grammar alone decides where a constrained output may end; a
            # minimum length could leave no allowed token at all.
            (self.structured_outputs is None or self.min_tokens == 0,
             "min_tokens cannot be combined with structured_outputs"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def is_greedy(self) -> bool:
        """Whether this request takes the argmax token every step."""
        return self.temperature < SAMPLING_EPS

    @property
    def has_penalties(self) -> bool:
        """Whether any penalty changes the logits (so token counts are needed)."""
        return (
            self.repetition_penalty != 1.0
            or self.presence_penalty != 0.0
            or self.frequency_penalty != 0.0
        )
