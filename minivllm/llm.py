"""The offline API: ``LLM(model_dir).generate(prompts, params)``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from minivllm.config import EngineArgs
from minivllm.engine.llm_engine import LLMEngine
from minivllm.lora.request import LoRARequest
from minivllm.outputs import RequestOutput
from minivllm.sampling_params import RequestOutputKind, SamplingParams
from minivllm.tokenizer import Tokenizer

Prompt = str | Sequence[int]
"""Text, or token ids already tokenized."""


def normalize_prompts(prompts: Prompt | Sequence[Prompt]) -> list[Prompt]:
    """Accept one prompt or many; a flat list of ints is one tokenized prompt."""
    if isinstance(prompts, str):
        return [prompts]
    items = list(prompts)
    if items and all(isinstance(t, int) for t in items):
        return [items]  # type: ignore[list-item]
    return items  # type: ignore[return-value]


# upstream: vllm/entrypoints/llm.py:66 — LLM
class LLM:
    """Load a checkpoint once, then generate for batches of prompts.

    Args:
        model: Hugging Face checkpoint directory.
        tokenizer: Overrides the checkpoint's tokenizer.
        **engine_kwargs: Any ``EngineArgs`` field (device, dtype,
            gpu_memory_utilization, enforce_eager, block_size,
            max_num_batched_tokens, max_num_seqs, enable_prefix_caching,
            speculative_config, enable_lora, max_loras, ...). ``device="cuda"``
            runs the same engine on a GPU (bfloat16 unless ``dtype`` says
            otherwise, Triton attention, CUDA graphs for decode).
    """

    # upstream: vllm/entrypoints/llm.py:176 — LLM.__init__()
    def __init__(self, model: str | Path, tokenizer: Tokenizer | None = None, **engine_kwargs: Any) -> None:
        config = EngineArgs(model=str(model), **engine_kwargs).create_engine_config()
        self.llm_engine = LLMEngine(config, tokenizer)

    # upstream: vllm/entrypoints/llm.py:391 — LLM.get_tokenizer()
    def get_tokenizer(self) -> Tokenizer:
        """The tokenizer prompts go through."""
        return self.llm_engine.tokenizer

    # upstream: vllm/entrypoints/llm.py:422 — LLM.generate()
    def generate(
        self,
        prompts: Prompt | Sequence[Prompt],
        sampling_params: SamplingParams | Sequence[SamplingParams] | None = None,
        lora_request: LoRARequest | Sequence[LoRARequest | None] | None = None,
    ) -> list[RequestOutput]:
        """Generate for all prompts together; outputs come back in prompt order.

        Args:
            prompts: One prompt or several (text or token ids).
            sampling_params: One for all prompts, or one per prompt.
            lora_request: One adapter for all prompts, or one (or None) per
                prompt; requests with different adapters share each step.
        """
        ids = self._add_requests(prompts, sampling_params, RequestOutputKind.FINAL_ONLY, lora_request)
        finals: dict[str, RequestOutput] = {}
        engine = self.llm_engine
        while engine.has_unfinished_requests():
            for out in engine.step():
                finals[out.request_id] = out
        return [finals[i] for i in ids]

    def stream(
        self,
        prompts: Prompt | Sequence[Prompt],
        sampling_params: SamplingParams | Sequence[SamplingParams] | None = None,
        lora_request: LoRARequest | Sequence[LoRARequest | None] | None = None,
    ) -> Iterator[RequestOutput]:
        """Yield new tokens and text of every request as soon as a step makes them.

        Each yielded output is a delta; the last one for a request has
        ``finished=True``. Stopping the iteration early aborts the requests
        still in flight.
        """
        ids = self._add_requests(prompts, sampling_params, RequestOutputKind.DELTA, lora_request)
        engine = self.llm_engine
        try:
            while engine.has_unfinished_requests():
                yield from engine.step()
        finally:
            engine.abort_request(ids)

    def _add_requests(
        self,
        prompts: Prompt | Sequence[Prompt],
        params: SamplingParams | Sequence[SamplingParams] | None,
        kind: RequestOutputKind,
        lora: LoRARequest | Sequence[LoRARequest | None] | None = None,
    ) -> list[str]:
        """Queue every prompt with its params and adapter (one shared, or one each)."""
        items = normalize_prompts(prompts)
        if params is None:
            params = SamplingParams()
        per_prompt = [params] * len(items) if isinstance(params, SamplingParams) else list(params)
        if len(per_prompt) != len(items):
            raise ValueError(f"{len(items)} prompts but {len(per_prompt)} sampling params")
        loras = [lora] * len(items) if lora is None or isinstance(lora, LoRARequest) else list(lora)
        if len(loras) != len(items):
            raise ValueError(f"{len(items)} prompts but {len(loras)} LoRA requests")
        ids: list[str] = []
        try:
            for prompt, sp, lr in zip(items, per_prompt, loras):
                sp = dataclasses.replace(sp, output_kind=kind)
                ids.append(self.llm_engine.add_request(prompt, sp, lora_request=lr))
        except Exception:
            self.llm_engine.abort_request(ids)
            raise
        return ids
