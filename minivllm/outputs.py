"""Plain records passed between the layers of the engine and to the user.

Runner → scheduler: ``ModelRunnerOutput``. Scheduler → engine:
``EngineCoreOutput``. Engine → user: ``RequestOutput`` holding
``CompletionOutput``s. All frozen: each crosses a boundary and must not be
changed behind the receiver's back.
"""

from __future__ import annotations

from dataclasses import dataclass

from minivllm.request import FinishReason


# upstream: vllm/logprobs.py:13 — Logprob
@dataclass(frozen=True)
class Logprob:
    """Log-probability of one token at one position, and its rank (1 = top)."""

    logprob: float
    rank: int


# upstream: vllm/v1/outputs.py:233 — ModelRunnerOutput
@dataclass(frozen=True)
class ModelRunnerOutput:
    """What one forward step produced, aligned with the scheduled requests.

    Attributes:
        req_ids: Scheduled requests, in batch order.
        sampled_token_ids: Per request; empty for a prefill chunk that did
            not reach the end of the prompt (nothing to sample yet).
        logprobs: Per request, one dict per sampled token, or None.
    """

    req_ids: tuple[str, ...]
    sampled_token_ids: tuple[tuple[int, ...], ...]
    logprobs: tuple[tuple[dict[int, Logprob], ...] | None, ...]


# upstream: vllm/v1/engine/__init__.py:168 — EngineCoreOutput
@dataclass(frozen=True)
class EngineCoreOutput:
    """New tokens of one request after a step, and whether it finished."""

    request_id: str
    new_token_ids: tuple[int, ...]
    new_logprobs: tuple[dict[int, Logprob], ...] | None = None
    finish_reason: FinishReason | None = None
    stop_reason: int | str | None = None

    @property
    def finished(self) -> bool:
        """Whether this was the request's last output."""
        return self.finish_reason is not None


# upstream: vllm/outputs.py:22 — CompletionOutput
@dataclass(frozen=True)
class CompletionOutput:
    """One generated sequence (cumulative, or a delta when streaming).

    Attributes:
        index: Position of this sequence among the request's samples.
        text: Generated text (stop string removed unless asked to keep it).
        token_ids: Generated token ids.
        logprobs: Per token, the requested top log-probs, or None.
        finish_reason: "stop", "length", "abort", or None while running.
        stop_reason: The stop string or stop token id that ended it, if any.
    """

    index: int
    text: str
    token_ids: tuple[int, ...]
    logprobs: tuple[dict[int, Logprob], ...] | None = None
    finish_reason: FinishReason | None = None
    stop_reason: int | str | None = None


@dataclass(frozen=True)
class RequestMetrics:
    """Timestamps (``time.monotonic``) for latency figures such as TTFT."""

    arrival_time: float
    first_token_time: float | None
    num_preemptions: int


# upstream: vllm/outputs.py:85 — RequestOutput
@dataclass(frozen=True)
class RequestOutput:
    """Everything the user gets back for one request.

    Attributes:
        request_id: The request's id.
        prompt: The prompt text, if the prompt was given as text.
        prompt_token_ids: The prompt as the model saw it.
        outputs: The generated sequences.
        finished: Whether generation is over.
        num_cached_tokens: Prompt tokens served from the prefix cache.
        metrics: Timing of this request.
    """

    request_id: str
    prompt: str | None
    prompt_token_ids: tuple[int, ...]
    outputs: tuple[CompletionOutput, ...]
    finished: bool
    num_cached_tokens: int
    metrics: RequestMetrics
