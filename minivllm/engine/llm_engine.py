"""The step loop: schedule → run the model → update requests → emit outputs."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from minivllm.config import EngineConfig
from minivllm.core.kv_cache_manager import KVCacheManager
from minivllm.core.kv_cache_utils import get_request_block_hasher
from minivllm.core.sched.scheduler import Scheduler
from minivllm.detokenizer import IncrementalDetokenizer
from minivllm.engine.output_processor import OutputProcessor
from minivllm.model.loader import load_model
from minivllm.outputs import EngineCoreOutput, RequestOutput
from minivllm.request import FinishReason, Request, RequestStatus
from minivllm.sampling_params import SamplingParams
from minivllm.tokenizer import Tokenizer, load_tokenizer
from minivllm.worker.model_runner import ModelRunner


# upstream: vllm/v1/engine/llm_engine.py:47 — LLMEngine
class LLMEngine:
    """Owns the scheduler, the model runner and the tokenizer; one ``step()`` per batch.

    Args:
        config: The resolved engine configuration.
        tokenizer: Overrides the checkpoint's tokenizer (or the byte default).
    """

    # upstream: vllm/v1/engine/llm_engine.py:50 — LLMEngine.__init__()
    def __init__(self, config: EngineConfig, tokenizer: Tokenizer | None = None) -> None:
        self.config = config
        self.tokenizer = tokenizer or load_tokenizer(config.model_dir)
        model = load_model(config.model_dir, config.dtype)
        self.model_runner = ModelRunner(model, config.cache, config.seed)
        cache = config.cache
        kv_manager = KVCacheManager(cache.num_blocks, cache.block_size, cache.enable_prefix_caching)
        self.scheduler = Scheduler(config.scheduler, kv_manager)
        self.output_processor = OutputProcessor()
        self._block_hasher = (
            get_request_block_hasher(cache.block_size) if cache.enable_prefix_caching else None
        )
        self._ids = itertools.count()
        self.num_steps = 0

    # upstream: vllm/v1/engine/llm_engine.py:209 — LLMEngine.add_request()
    def add_request(
        self,
        prompt: str | Sequence[int],
        params: SamplingParams,
        request_id: str | None = None,
    ) -> str:
        """Tokenize (if needed) and queue a request; return its id.

        Raises:
            ValueError: For an empty prompt, out-of-vocabulary ids, or a
                prompt too long for ``max_model_len``.
        """
        text = prompt if isinstance(prompt, str) else None
        token_ids = self.tokenizer.encode(prompt) if isinstance(prompt, str) else list(prompt)
        vocab = self.config.model.vocab_size
        if any(not 0 <= t < vocab for t in token_ids):
            raise ValueError(f"prompt has token ids outside the vocabulary [0, {vocab})")
        request = Request(
            request_id if request_id is not None else str(next(self._ids)),
            token_ids,
            params,
            eos_token_id=self.tokenizer.eos_token_id,
            block_hasher=self._block_hasher,
            detokenizer=IncrementalDetokenizer(self.tokenizer) if params.detokenize else None,
        )
        if request.request_id in self.scheduler.requests:
            raise ValueError(f"request id {request.request_id!r} is already in flight")
        self.scheduler.add_request(request)
        self.output_processor.add_request(request, text)
        return request.request_id

    # upstream: vllm/v1/engine/llm_engine.py:203 — LLMEngine.abort_request()
    def abort_request(self, request_ids: Sequence[str]) -> list[RequestOutput]:
        """Stop requests now; return their final outputs (finish reason "abort")."""
        live = [rid for rid in request_ids if rid in self.scheduler.requests]
        self.scheduler.finish_requests(live, RequestStatus.FINISHED_ABORTED)
        aborted = [EngineCoreOutput(rid, (), finish_reason=FinishReason.ABORT) for rid in live]
        return self.output_processor.process_outputs(aborted)

    # upstream: vllm/v1/engine/llm_engine.py:287 — LLMEngine.step()
    def step(self) -> list[RequestOutput]:
        """Run one scheduling step and one forward pass; return what changed."""
        scheduler_output = self.scheduler.schedule()
        runner_output = self.model_runner.execute_model(scheduler_output)
        core_outputs = self.scheduler.update_from_output(scheduler_output, runner_output)
        self.num_steps += 1
        return self.output_processor.process_outputs(core_outputs)

    # upstream: vllm/v1/engine/llm_engine.py:182 — LLMEngine.has_unfinished_requests()
    def has_unfinished_requests(self) -> bool:
        """Whether any request is still waiting or running."""
        return self.scheduler.has_unfinished_requests()
