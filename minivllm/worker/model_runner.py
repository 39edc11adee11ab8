"""Turns a ``SchedulerOutput`` into one forward pass and one sampled token per request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from minivllm.attention import AttentionMetadata, Workspace, build_attention_metadata
from minivllm.config import CacheConfig
from minivllm.core.sched.output import SchedulerOutput
from minivllm.model.llama import LlamaForCausalLM
from minivllm.outputs import Logprob, ModelRunnerOutput
from minivllm.request import Request
from minivllm.sample.sampler import LogprobsTensors, Sampler
from minivllm.worker.input_batch import CachedRequestState, make_sampling_metadata


@dataclass(frozen=True)
class ModelInputs:
    """The flattened batch of one step (tensors built once, used by every layer).

    Attributes:
        input_ids: ``[T]`` token ids of all scheduled tokens.
        positions: ``[T]`` their positions in their own sequences.
        attn_metadata: Slots and block tables for the attention layers.
        logits_indices: Batch rows whose hidden state is turned into logits.
        sampling_rows: Index (into the scheduled requests) of each such row.
    """

    input_ids: torch.Tensor
    positions: torch.Tensor
    attn_metadata: AttentionMetadata
    logits_indices: torch.Tensor
    sampling_rows: list[int]


# upstream: vllm/v1/worker/gpu_model_runner.py:1863 — GPUModelRunner._prepare_inputs()
def prepare_inputs(so: SchedulerOutput, block_size: int, workspace: Workspace | None = None) -> ModelInputs:
    """Flatten the scheduled tokens of every request into one batch.

    Only requests whose scheduled tokens reach the end of their known tokens
    sample this step; a prefill chunk that stops mid-prompt only fills the
    cache, so its logits are never computed.
    """
    tokens: list[int] = []
    sampling_rows: list[int] = []
    for i, (req, start, n) in enumerate(zip(so.requests, so.num_computed_tokens, so.num_scheduled_tokens)):
        tokens.extend(req.all_token_ids[start : start + n])
        if start + n == req.num_tokens:
            sampling_rows.append(i)
    positions = compute_positions(so.num_computed_tokens, so.num_scheduled_tokens)
    ends = torch.cumsum(torch.tensor(so.num_scheduled_tokens), 0)
    width = max(len(b) for b in so.block_ids)
    table = torch.tensor([list(b) + [0] * (width - len(b)) for b in so.block_ids])
    context_lens = [s + n for s, n in zip(so.num_computed_tokens, so.num_scheduled_tokens)]
    md = build_attention_metadata(
        list(so.num_scheduled_tokens), context_lens, table, positions, block_size, workspace
    )
    logits_indices = ends[sampling_rows] - 1
    return ModelInputs(torch.tensor(tokens), positions, md, logits_indices, sampling_rows)


def compute_positions(starts: Sequence[int], query_lens: Sequence[int]) -> torch.Tensor:
    """Position of every token of the flattened batch, without a Python loop over tokens.

    Request ``i`` contributes ``starts[i], ..., starts[i] + query_lens[i] - 1``.
    """
    qlens = torch.tensor(query_lens)
    req_idx = torch.repeat_interleave(torch.arange(len(qlens)), qlens)
    first_row = torch.cumsum(qlens, 0) - qlens
    return torch.tensor(starts)[req_idx] + torch.arange(int(qlens.sum())) - first_row[req_idx]


def logprobs_for_row(lp: LogprobsTensors, row: int, k: int, token_id: int) -> dict[int, Logprob]:
    """One position's log-probs as the user sees them: top-k plus the sampled token."""
    ids, values = lp.topk_ids[row, :k].tolist(), lp.topk_logprobs[row, :k].tolist()
    entry = {t: Logprob(v, rank + 1) for rank, (t, v) in enumerate(zip(ids, values))}
    entry[token_id] = Logprob(float(lp.sampled_logprobs[row]), int(lp.sampled_ranks[row]))
    return entry


class ModelRunner:
    """Owns the model, the KV cache tensors and per-request sampling state.

    Args:
        model: A loaded model.
        cache_config: Block size and block count of the KV cache.
        seed: Seed of the shared sampling generator.
    """

    def __init__(self, model: LlamaForCausalLM, cache_config: CacheConfig, seed: int = 0) -> None:
        self.model = model
        self.block_size = cache_config.block_size
        self.vocab_size = model.config.vocab_size
        self.kv_caches = allocate_kv_cache(model, cache_config)
        self.sampler = Sampler(seed)
        self.states: dict[str, CachedRequestState] = {}
        self.workspace = Workspace()

    @property
    def kv_cache_bytes(self) -> int:
        """Bytes reserved for keys and values across all layers."""
        return sum(t.numel() * t.element_size() for t in self.kv_caches)

    # upstream: vllm/v1/worker/gpu_model_runner.py:3955 — GPUModelRunner.execute_model()
    @torch.inference_mode()
    def execute_model(self, so: SchedulerOutput) -> ModelRunnerOutput:
        """Run one step: forward the flattened batch, sample, package the result."""
        self._update_states(so)
        if not so.requests:
            return ModelRunnerOutput((), (), ())
        inputs = prepare_inputs(so, self.block_size, self.workspace)
        hidden = self.model(inputs.input_ids, inputs.positions, self.kv_caches, inputs.attn_metadata)
        sampled: list[tuple[int, ...]] = [()] * len(so.requests)
        logprobs: list[tuple[dict[int, Logprob], ...] | None] = [None] * len(so.requests)
        if inputs.sampling_rows:
            logits = self.model.compute_logits(hidden[inputs.logits_indices])
            reqs = [so.requests[i] for i in inputs.sampling_rows]
            self._sample(logits, reqs, inputs.sampling_rows, sampled, logprobs)
        return ModelRunnerOutput(so.req_ids, tuple(sampled), tuple(logprobs))

    def _sample(
        self,
        logits: torch.Tensor,
        reqs: Sequence[Request],
        rows: Sequence[int],
        sampled: list[tuple[int, ...]],
        logprobs: list[tuple[dict[int, Logprob], ...] | None],
    ) -> None:
        """Sample for the rows that reached the end of their tokens; fill the outputs in place."""
        states = [self.states[r.request_id] for r in reqs]
        md = make_sampling_metadata(reqs, states, self.vocab_size)
        out = self.sampler(logits, md)
        token_ids = out.sampled_token_ids.tolist()
        for j, (row, req) in enumerate(zip(rows, reqs)):
            sampled[row] = (token_ids[j],)
            k = req.sampling_params.logprobs
            if out.logprobs is not None and k is not None:
                logprobs[row] = (logprobs_for_row(out.logprobs, j, k, token_ids[j]),)

    # upstream: vllm/v1/worker/gpu_model_runner.py:1116 — GPUModelRunner._update_states()
    def _update_states(self, so: SchedulerOutput) -> None:
        """Forget finished requests; create state for requests seen the first time."""
        for req_id in so.finished_req_ids:
            self.states.pop(req_id, None)
        for req in so.requests:
            if req.request_id not in self.states:
                self.states[req.request_id] = CachedRequestState(req, self.vocab_size)


def allocate_kv_cache(model: LlamaForCausalLM, cache_config: CacheConfig) -> list[torch.Tensor]:
    """One ``[2, kv_heads, num_blocks, block_size, head_dim]`` tensor per layer.

    Zero-filled so that never-written slots (the null block, padding) hold
    finite numbers; masked-out garbage could otherwise be NaN and poison
    the softmax through ``0 * NaN``.
    """
    cfg = model.config
    dtype = model.lm_head.weight.dtype
    shape = (2, cfg.num_key_value_heads, cache_config.num_blocks, cache_config.block_size, cfg.head_dim)
    return [torch.zeros(shape, dtype=dtype) for _ in range(cfg.num_hidden_layers)]
