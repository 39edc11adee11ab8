"""Turn the scheduler's per-step token updates into user-facing outputs."""

from __future__ import annotations

from collections.abc import Iterable

from minivllm.engine.parallel_sampling import ParentRequest
from minivllm.outputs import (
    CompletionOutput,
    EngineCoreOutput,
    RequestMetrics,
    RequestOutput,
)
from minivllm.request import Request
from minivllm.sampling_params import RequestOutputKind


# upstream: vllm/v1/engine/output_processor.py:129 — RequestState
class RequestState:
    """What has already been handed to the user for one request.

    When streaming, the last ``len(longest stop string) - 1`` characters are
    held back until the request finishes: they might turn out to be the start
    of a stop string, which must not appear in the output.
    """

    def __init__(
        self, request: Request, prompt: str | None, parent: ParentRequest | None = None, index: int = 0
    ) -> None:
        self.request = request
        self.prompt = prompt
        self.parent = parent
        self.index = index
        self.output_kind = request.sampling_params.output_kind
        self.sent_tokens = 0
        self.sent_chars = 0
        stops = request.sampling_params.stop
        keep_stop = request.sampling_params.include_stop_str_in_output
        self.holdback = max((len(s) for s in stops), default=1) - 1 if stops and not keep_stop else 0

    # upstream: vllm/v1/engine/output_processor.py:272 — RequestState.make_request_output()
    def make_request_output(self, finished: bool) -> RequestOutput | None:
        """The output to emit after this step, or None (final-only, not finished)."""
        if self.output_kind is RequestOutputKind.FINAL_ONLY and not finished:
            return None
        delta = self.output_kind is RequestOutputKind.DELTA
        req = self.request
        text = req.detokenizer.output_text if req.detokenizer else ""
        text_end = len(text) if finished else max(self.sent_chars, len(text) - self.holdback)
        first_token = self.sent_tokens if delta else 0
        first_char = self.sent_chars if delta else 0
        self.sent_tokens, self.sent_chars = req.num_output_tokens, text_end
        logprobs = tuple(req.output_logprobs[first_token:]) if req.output_logprobs else None
        completion = CompletionOutput(
            index=0,
            text=text[first_char:text_end],
            token_ids=tuple(req.output_token_ids[first_token:]),
            logprobs=logprobs,
            finish_reason=req.get_finished_reason(),
            stop_reason=req.stop_reason,
        )
        return RequestOutput(
            request_id=req.request_id,
            prompt=self.prompt,
            prompt_token_ids=tuple(req.prompt_token_ids),
            outputs=(completion,),
            finished=finished,
            num_cached_tokens=max(req.num_cached_tokens, 0),
            metrics=RequestMetrics(req.arrival_time, req.first_token_time, req.num_preemptions),
        )


# upstream: vllm/v1/engine/output_processor.py:417 — OutputProcessor
class OutputProcessor:
    """Tracks every in-flight request's ``RequestState``."""

    def __init__(self) -> None:
        self.states: dict[str, RequestState] = {}

    def add_request(
        self, request: Request, prompt: str | None, parent: ParentRequest | None = None, index: int = 0
    ) -> None:
        """Start tracking a request (sample ``index`` of ``parent`` when ``n > 1``)."""
        self.states[request.request_id] = RequestState(request, prompt, parent, index)

    # upstream: vllm/v1/engine/output_processor.py:576 — OutputProcessor.process_outputs()
    def process_outputs(self, core_outputs: Iterable[EngineCoreOutput]) -> list[RequestOutput]:
        """Build this step's outputs; stop tracking the requests that finished."""
        outputs: list[RequestOutput] = []
        for core in core_outputs:
            state = self.states.get(core.request_id)
            if state is None:
                continue
            out = state.make_request_output(core.finished)
            if out is not None and state.parent is not None:
                out = state.parent.get_outputs(state.index, out)
            if out is not None:
                outputs.append(out)
            if core.finished:
                del self.states[core.request_id]
        return outputs

    def has_unfinished_requests(self) -> bool:
        """Whether any tracked request is still in flight."""
        return bool(self.states)
