"""One generation request as the scheduler sees it: tokens, progress, status."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from minivllm.sampling_params import SamplingParams

if TYPE_CHECKING:
    from minivllm.core.kv_cache_utils import BlockHash
    from minivllm.detokenizer import IncrementalDetokenizer
    from minivllm.lora.request import LoRARequest
    from minivllm.outputs import Logprob
    from minivllm.structured_output.request import StructuredOutputRequest


# upstream: vllm/v1/engine/__init__.py:42 — FinishReason
class FinishReason(str, enum.Enum):
    """Why a request stopped, in the words of the OpenAI API."""

    STOP = "stop"
    LENGTH = "length"
    ABORT = "abort"

    def __str__(self) -> str:
        return self.value


# upstream: vllm/v1/request.py:315 — RequestStatus
class RequestStatus(enum.IntEnum):
    """Life cycle of a request; every value after PREEMPTED is final."""

    WAITING = enum.auto()
    RUNNING = enum.auto()
    PREEMPTED = enum.auto()
    FINISHED_STOPPED = enum.auto()
    FINISHED_LENGTH_CAPPED = enum.auto()
    FINISHED_ABORTED = enum.auto()

    @property
    def is_finished(self) -> bool:
        """Whether the request will never be scheduled again."""
        return self > RequestStatus.PREEMPTED

    @property
    def finish_reason(self) -> FinishReason | None:
        """The user-facing reason for a final status, None otherwise."""
        return _FINISH_REASONS.get(self)


_FINISH_REASONS = {
    RequestStatus.FINISHED_STOPPED: FinishReason.STOP,
    RequestStatus.FINISHED_LENGTH_CAPPED: FinishReason.LENGTH,
    RequestStatus.FINISHED_ABORTED: FinishReason.ABORT,
}


# upstream: vllm/v1/request.py:59 — Request
class Request:
    """Mutable per-request state shared by scheduler, KV manager and runner.

    ``num_computed_tokens`` counts tokens whose KV is in the cache (or will
    be, once the step that scheduled them has run). The scheduler advances
    it when it schedules; preemption resets it to 0 (recompute).

    Args:
        request_id: Unique id.
        prompt_token_ids: The prompt, already tokenized (never empty).
        sampling_params: How to sample and when to stop.
        eos_token_id: The model's end-of-sequence id, if any.
        block_hasher: Hashes newly filled blocks (prefix caching); None
            when caching is off.
        extra_hash_keys: Mixed into every block hash (e.g. an adapter name).
        detokenizer: Builds the text; None when ``detokenize`` is off.
        lora_request: The adapter this request runs with, if any.
        structured_output_request: Its grammar state, if constrained.

    Attributes:
        spec_token_ids: Draft tokens proposed for the next step (never part
            of ``all_token_ids`` until verified).
        fork_children: Samples of the same prompt (``n > 1``) that wait for
            this request's prefill to finish, then share its blocks.
    """

    # upstream: vllm/v1/request.py:60 — Request.__init__()
    def __init__(
        self,
        request_id: str,
        prompt_token_ids: Sequence[int],
        sampling_params: SamplingParams,
        eos_token_id: int | None = None,
        block_hasher: Callable[[Request], list[BlockHash]] | None = None,
        extra_hash_keys: tuple[object, ...] = (),
        detokenizer: IncrementalDetokenizer | None = None,
        arrival_time: float | None = None,
        lora_request: LoRARequest | None = None,
        structured_output_request: StructuredOutputRequest | None = None,
    ) -> None:
        if not prompt_token_ids:
            raise ValueError(f"request {request_id}: the prompt is empty")
        self.request_id = request_id
        self.sampling_params = sampling_params
        self.eos_token_id = eos_token_id
        self.prompt_token_ids = list(prompt_token_ids)
        self.all_token_ids = list(prompt_token_ids)
        self.output_token_ids: list[int] = []
        self.output_logprobs: list[dict[int, Logprob]] = []
        self.num_computed_tokens = 0
        self.num_cached_tokens = -1
        self.num_preemptions = 0
        self.status = RequestStatus.WAITING
        self.stop_reason: int | str | None = None
        self.extra_hash_keys = extra_hash_keys
        self.detokenizer = detokenizer
        self.arrival_time = time.monotonic() if arrival_time is None else arrival_time
        self.first_token_time: float | None = None
        self.lora_request = lora_request
        self.structured_output_request = structured_output_request
        self.spec_token_ids: list[int] = []
        self.fork_children: list[Request] = []
        self._block_hasher = block_hasher
        self.block_hashes: list[BlockHash] = []
        self.update_block_hashes()

    @property
    def num_tokens(self) -> int:
        """Prompt plus generated tokens."""
        return len(self.all_token_ids)

    # upstream: vllm/v1/request.py:243 — Request.num_tokens_with_spec()
    @property
    def num_tokens_with_spec(self) -> int:
        """Known tokens plus the drafts waiting to be verified."""
        return len(self.all_token_ids) + len(self.spec_token_ids)

    @property
    def num_prompt_tokens(self) -> int:
        """Length of the prompt."""
        return len(self.prompt_token_ids)

    @property
    def num_output_tokens(self) -> int:
        """Tokens generated so far."""
        return len(self.output_token_ids)

    @property
    def max_tokens(self) -> int:
        """The generation cap from the sampling params."""
        return self.sampling_params.max_tokens

    @property
    def can_speculate(self) -> bool:
        """Whether drafts may be verified for this request now.

        Penalties and an unmet ``min_tokens`` make each position's
        distribution depend on the exact tokens before it; those requests
        decode one token per step instead.
        """
        params = self.sampling_params
        return not params.has_penalties and self.num_output_tokens >= params.min_tokens

    # upstream: vllm/v1/request.py:216 — Request.append_output_token_ids()
    def append_output_token_ids(self, token_ids: Sequence[int]) -> None:
        """Record sampled tokens and hash any block they complete."""
        self.output_token_ids.extend(token_ids)
        self.all_token_ids.extend(token_ids)
        self.update_block_hashes()

    # upstream: vllm/v1/request.py:229 — Request.update_block_hashes()
    def update_block_hashes(self) -> None:
        """Extend ``block_hashes`` with the blocks filled since the last call."""
        if self._block_hasher is not None:
            self.block_hashes.extend(self._block_hasher(self))

    def is_finished(self) -> bool:
        """Whether the request reached a final status."""
        return self.status.is_finished

    def get_finished_reason(self) -> FinishReason | None:
        """The finish reason, None while still in flight."""
        return self.status.finish_reason

    def __repr__(self) -> str:
        return (
            f"Request({self.request_id!r}, {self.status.name}, "
            f"computed={self.num_computed_tokens}/{self.num_tokens})"
        )
