"""minivllm: a small CPU inference engine that mirrors vLLM's core ideas.

Paged KV cache with prefix caching, a continuous-batching scheduler with
chunked prefill and preemption, a Llama-style model over the paged cache,
and a batched sampler — each module cites its upstream counterpart.
"""

from minivllm.llm import LLM
from minivllm.outputs import CompletionOutput, Logprob, RequestOutput
from minivllm.sampling_params import RequestOutputKind, SamplingParams

__all__ = [
    "LLM",
    "CompletionOutput",
    "Logprob",
    "RequestOutput",
    "RequestOutputKind",
    "SamplingParams",
]
