"""minivllm: a small CPU inference engine that mirrors vLLM's core ideas.

Paged KV cache with prefix caching, a continuous-batching scheduler with
chunked prefill and preemption, a Llama-style model over the paged cache,
and a batched sampler; on top of them n-gram speculative decoding, parallel
sampling with copy-on-write blocks, batched multi-LoRA and grammar-constrained
output — each module cites its upstream counterpart.
"""

from minivllm.llm import LLM
from minivllm.lora.request import LoRARequest
from minivllm.outputs import CompletionOutput, Logprob, RequestOutput
from minivllm.sampling_params import (
    RequestOutputKind,
    SamplingParams,
    StructuredOutputsParams,
)

__all__ = [
    "LLM",
    "CompletionOutput",
    "LoRARequest",
    "Logprob",
    "RequestOutput",
    "RequestOutputKind",
    "SamplingParams",
    "StructuredOutputsParams",
]
