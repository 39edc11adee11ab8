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
from minivllm.engine.parallel_sampling import ParentRequest
from minivllm.lora.request import LoRARequest
from minivllm.model.loader import load_model
from minivllm.outputs import EngineCoreOutput, RequestOutput
from minivllm.request import FinishReason, Request, RequestStatus
from minivllm.sampling_params import SamplingParams
from minivllm.spec_decode.metrics import SpecDecodingStats
from minivllm.spec_decode.ngram_proposer import NgramProposer
from minivllm.structured_output.manager import StructuredOutputManager
from minivllm.structured_output.request import StructuredOutputRequest
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
        model = load_model(config.model_dir, config.dtype, config.device)
        self.model_runner = ModelRunner(
            model, config.cache, config.seed, config.lora, config.scheduler, config.enforce_eager
        )
        cache = config.cache
        kv_manager = KVCacheManager(
            cache.num_blocks, cache.block_size, cache.enable_prefix_caching, config.model.sliding_window
        )
        self.structured_output_manager = StructuredOutputManager(self.tokenizer, config.model.vocab_size)
        max_loras = config.lora.max_loras if config.lora else 0
        self.scheduler = Scheduler(config.scheduler, kv_manager, self.structured_output_manager, max_loras)
        self.output_processor = OutputProcessor()
        spec = config.speculative
        self.drafter = (
            NgramProposer(
                spec.num_speculative_tokens, spec.prompt_lookup_min, spec.prompt_lookup_max,
                config.scheduler.max_model_len,
            )
            if spec
            else None
        )
        self._block_hasher = (
            get_request_block_hasher(cache.block_size) if cache.enable_prefix_caching else None
        )
        self._children: dict[str, list[str]] = {}
        self._ids = itertools.count()
        self.num_steps = 0

    @property
    def spec_decoding_stats(self) -> SpecDecodingStats:
        """Drafts proposed and accepted since the engine started."""
        return self.scheduler.spec_decoding_stats

    # upstream: vllm/v1/engine/llm_engine.py:209 — LLMEngine.add_request()
    def add_request(
        self,
        prompt: str | Sequence[int],
        params: SamplingParams,
        request_id: str | None = None,
        lora_request: LoRARequest | None = None,
    ) -> str:
        """Tokenize (if needed) and queue a request; return its id.

        With ``params.n > 1`` the request becomes ``n`` samples: the first is
        queued; the others wait to fork from it once its prompt is computed.

        Raises:
            ValueError: For an empty prompt, out-of-vocabulary ids, a prompt
                too long for ``max_model_len``, an adapter without
                ``enable_lora``, or a constraint that does not compile.
        """
        text = prompt if isinstance(prompt, str) else None
        token_ids = self.tokenizer.encode(prompt) if isinstance(prompt, str) else list(prompt)
        vocab = self.config.model.vocab_size
        if any(not 0 <= t < vocab for t in token_ids):
            raise ValueError(f"prompt has token ids outside the vocabulary [0, {vocab})")
        if lora_request is not None and self.config.lora is None:
            raise ValueError("a LoRA adapter was requested but the engine was built without enable_lora=True")
        request_id = request_id if request_id is not None else str(next(self._ids))
        if request_id in self.scheduler.requests or request_id in self._children:
            raise ValueError(f"request id {request_id!r} is already in flight")
        if params.n == 1:
            request = self._make_request(request_id, token_ids, params, lora_request)
            self.scheduler.add_request(request)
            self.output_processor.add_request(request, text)
            return request_id
        parent = ParentRequest(request_id, params)
        samples = []
        for i in range(params.n):
            child_id, child_params = parent.get_child_info(i)
            samples.append(self._make_request(child_id, token_ids, child_params, lora_request))
        samples[0].fork_children = samples[1:]
        self.scheduler.add_request(samples[0])
        for i, sample in enumerate(samples):
            self.output_processor.add_request(sample, text, parent, i)
        self._children[request_id] = [s.request_id for s in samples]
        return request_id

    def _make_request(
        self, request_id: str, token_ids: list[int], params: SamplingParams, lora_request: LoRARequest | None
    ) -> Request:
        """A scheduler request with its hasher, detokenizer, adapter and grammar."""
        so_request = StructuredOutputRequest.from_params(params.structured_outputs)
        if so_request is not None:
            self.structured_output_manager.grammar_init(so_request)
        return Request(
            request_id,
            token_ids,
            params,
            eos_token_id=self.tokenizer.eos_token_id,
            block_hasher=self._block_hasher,
            # upstream: vllm/v1/core/kv_cache_utils.py:462 — _gen_lora_extra_hash_keys()
            extra_hash_keys=(lora_request.lora_name,) if lora_request else (),
            detokenizer=IncrementalDetokenizer(self.tokenizer) if params.detokenize else None,
            lora_request=lora_request,
            structured_output_request=so_request,
        )

    # upstream: vllm/v1/engine/llm_engine.py:203 — LLMEngine.abort_request()
    def abort_request(self, request_ids: Sequence[str]) -> list[RequestOutput]:
        """Stop requests now (all samples of an ``n > 1`` one); return their final outputs."""
        internal = [cid for rid in request_ids for cid in self._children.pop(rid, [rid])]
        live = [rid for rid in internal if rid in self.output_processor.states]
        self.scheduler.finish_requests(live, RequestStatus.FINISHED_ABORTED)
        aborted = [EngineCoreOutput(rid, (), finish_reason=FinishReason.ABORT) for rid in live]
        return self.output_processor.process_outputs(aborted)

    # upstream: vllm/v1/engine/llm_engine.py:287 — LLMEngine.step()
    def step(self) -> list[RequestOutput]:
        """Run one scheduling step and one forward pass; return what changed."""
        scheduler_output = self.scheduler.schedule()
        runner_output = self.model_runner.execute_model(scheduler_output)
        core_outputs = self.scheduler.update_from_output(scheduler_output, runner_output)
        if self.drafter is not None:
            self._propose_drafts({o.request_id for o in core_outputs if o.new_token_ids and not o.finished})
        self.num_steps += 1
        outputs = self.output_processor.process_outputs(core_outputs)
        for out in outputs:
            if out.finished:
                self._children.pop(out.request_id, None)
        return outputs

    # upstream: vllm/v1/worker/gpu_model_runner.py:4750 — GPUModelRunner.propose_draft_token_ids()
    def _propose_drafts(self, sampled: set[str]) -> None:
        """Draft the next tokens of every running request that just sampled.

        Only those are decoding; a prompt still being prefilled gets no
        drafts. Drafts never run past ``max_tokens``.
        """
        assert self.drafter is not None
        ready = [r for r in self.scheduler.running if r.request_id in sampled and r.can_speculate]
        if not ready:
            return
        caps = [r.max_tokens - r.num_output_tokens - 1 for r in ready]
        drafts = self.drafter.propose([r.all_token_ids for r in ready], caps)
        self.scheduler.update_draft_token_ids({r.request_id: d for r, d in zip(ready, drafts)})

    # upstream: vllm/v1/engine/llm_engine.py:182 — LLMEngine.has_unfinished_requests()
    def has_unfinished_requests(self) -> bool:
        """Whether any request is still waiting or running."""
        return self.scheduler.has_unfinished_requests()
