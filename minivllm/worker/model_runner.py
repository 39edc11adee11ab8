"""Turns a ``SchedulerOutput`` into one forward pass and the tokens each request emits.

Usually one token per sampling request. A request that carries draft tokens
is verified in the same pass and may emit several; the samples of an
``n > 1`` request that fork this step each draw their first token from
the shared prompt's logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from minivllm.attention import AttentionMetadata, Workspace, build_attention_metadata
from minivllm.config import CacheConfig, LoRAConfig, SchedulerConfig
from minivllm.core.kv_cache_utils import cdiv
from minivllm.core.sched.output import SchedulerOutput
from minivllm.kernels.backend import PagedMetadata, use_triton_attention
from minivllm.lora.model_manager import LoRAModelManager
from minivllm.model.llama import LlamaForCausalLM
from minivllm.outputs import Logprob, ModelRunnerOutput
from minivllm.request import Request
from minivllm.sample.rejection_sampler import rejection_sample
from minivllm.sample.sampler import LogprobsTensors, Sampler, gather_logprobs
from minivllm.spec_decode.metadata import SpecDecodeMetadata
from minivllm.structured_output.utils import apply_grammar_bitmask
from minivllm.worker.cuda_graph import DecodeGraphs, capture_sizes
from minivllm.worker.input_batch import (
    CachedRequestState,
    expand_for_drafts,
    make_sampling_metadata,
    sampling_metadata_to,
)
from minivllm.worker.input_buffers import InputBuffers

TokenLogprobs = tuple[dict[int, Logprob], ...] | None


@dataclass(frozen=True)
class ModelInputs:
    """The flattened batch of one step (tensors built once, used by every layer).

    Attributes:
        input_ids: ``[T]`` token ids of all scheduled tokens.
        positions: ``[T]`` their positions in their own sequences.
        attn_metadata: Slots and block tables for the attention layers.
        sampling_rows: Index (into the scheduled requests) of each request
            that samples this step.
        spec: Which logits rows verify drafts and which give the next token.
    """

    input_ids: torch.Tensor
    positions: torch.Tensor
    attn_metadata: AttentionMetadata | PagedMetadata
    sampling_rows: list[int]
    spec: SpecDecodeMetadata

    @property
    def logits_indices(self) -> torch.Tensor:
        """Batch rows whose hidden state is turned into logits (``k + 1`` per request with ``k`` drafts)."""
        return self.spec.logits_indices


def collect_tokens(so: SchedulerOutput) -> tuple[list[int], list[int], list[tuple[int, ...]]]:
    """The step's token ids in batch order, which requests sample, and each sampler's drafts.

    Only requests whose scheduled tokens reach the end of their known tokens
    sample this step; a prefill chunk that stops mid-prompt only fills the
    cache, so its logits are never computed. Draft tokens follow their
    request's real tokens, at the next positions, like any other input.
    """
    tokens: list[int] = []
    sampling_rows: list[int] = []
    drafts: list[tuple[int, ...]] = []
    for i, (req, start, n) in enumerate(zip(so.requests, so.num_computed_tokens, so.num_scheduled_tokens)):
        spec_tokens = so.spec_tokens(i)
        tokens.extend(req.all_token_ids[start : start + n - len(spec_tokens)])
        tokens.extend(spec_tokens)
        if start + n == req.num_tokens + len(spec_tokens):
            sampling_rows.append(i)
            drafts.append(spec_tokens)
    return tokens, sampling_rows, drafts


def spec_metadata(so: SchedulerOutput, sampling_rows: list[int], drafts: list[tuple[int, ...]]) -> SpecDecodeMetadata:
    """Which logits rows verify drafts and which give each sampling request's next token."""
    ends = torch.cumsum(torch.tensor(so.num_scheduled_tokens), 0)
    return SpecDecodeMetadata.from_drafts(drafts, ends[sampling_rows].tolist())


# upstream: vllm/v1/worker/gpu_model_runner.py:1863 — GPUModelRunner._prepare_inputs()
def prepare_inputs(so: SchedulerOutput, block_size: int, workspace: Workspace | None = None) -> ModelInputs:
    """Flatten the scheduled tokens of every request into one batch (the CPU path)."""
    tokens, sampling_rows, drafts = collect_tokens(so)
    positions = compute_positions(so.num_computed_tokens, so.num_scheduled_tokens)
    width = max(len(b) for b in so.block_ids)
    table = torch.tensor([list(b) + [0] * (width - len(b)) for b in so.block_ids])
    context_lens = [s + n for s, n in zip(so.num_computed_tokens, so.num_scheduled_tokens)]
    md = build_attention_metadata(
        list(so.num_scheduled_tokens), context_lens, table, positions, block_size, workspace
    )
    return ModelInputs(torch.tensor(tokens), positions, md, sampling_rows, spec_metadata(so, sampling_rows, drafts))


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

    The device is the model's: on the CPU, attention is ``minivllm.attention``
    and inputs are built fresh each step; on CUDA, attention is the Triton
    kernels, inputs go through persistent pinned buffers, and pure decode
    steps replay CUDA graphs (unless ``enforce_eager`` or LoRA is on).

    Args:
        model: A loaded model.
        cache_config: Block size and block count of the KV cache.
        seed: Seed of the shared sampling generator.
        lora_config: Adapter slots to build into the model, or None.
        scheduler_config: Step limits, which size the device buffers (defaults if None).
        enforce_eager: Never capture CUDA graphs.
    """

    def __init__(
        self,
        model: LlamaForCausalLM,
        cache_config: CacheConfig,
        seed: int = 0,
        lora_config: LoRAConfig | None = None,
        scheduler_config: SchedulerConfig | None = None,
        enforce_eager: bool = False,
    ) -> None:
        self.model = model
        self.device = model.lm_head.weight.device
        self.block_size = cache_config.block_size
        self.vocab_size = model.config.vocab_size
        self.kv_caches = allocate_kv_cache(model, cache_config)
        self.sampler = Sampler(seed, self.device)
        self.states: dict[str, CachedRequestState] = {}
        self.workspace = Workspace()
        self.lora_manager = (
            LoRAModelManager(model, lora_config.max_loras, lora_config.max_lora_rank) if lora_config else None
        )
        self.buffers: InputBuffers | None = None
        self.graphs: DecodeGraphs | None = None
        if self.device.type == "cuda":
            self._setup_device(scheduler_config or SchedulerConfig(), enforce_eager or lora_config is not None)

    def _setup_device(self, sched: SchedulerConfig, eager: bool) -> None:
        """Triton attention, persistent buffers and (unless eager) the decode graphs."""
        self.model.to(self.device)  # buffers the LoRA wrappers created on the host
        cfg = self.model.config
        use_triton_attention(self.model, cfg.head_dim, cfg.sliding_window)
        max_reqs = min(sched.max_num_seqs, sched.max_num_batched_tokens)
        width = cdiv(sched.max_model_len, self.block_size) + 1
        self.buffers = InputBuffers(
            sched.max_num_batched_tokens, sched.max_num_seqs, width, self.block_size, self.device
        )
        if not eager:
            self.graphs = DecodeGraphs(self.model, self.kv_caches, self.buffers, capture_sizes(max_reqs))
            self.graphs.capture()

    @property
    def kv_cache_bytes(self) -> int:
        """Bytes reserved for keys and values across all layers."""
        return sum(t.numel() * t.element_size() for t in self.kv_caches)

    # upstream: vllm/v1/worker/gpu_model_runner.py:3955 — GPUModelRunner.execute_model()
    @torch.inference_mode()
    def execute_model(self, so: SchedulerOutput) -> ModelRunnerOutput:
        """Run one step: forward the flattened batch, sample or verify, package the result.

        The output is aligned with ``so.requests`` followed by the children of
        ``so.forks``.
        """
        self._update_states(so)
        if not so.requests:
            return ModelRunnerOutput((), (), ())
        copy_kv_blocks(self.kv_caches, so.kv_copies)
        if self.lora_manager is not None:
            self.lora_manager.set_active_adapters([r.lora_request for r in so.requests], so.num_scheduled_tokens)
            punica = self.lora_manager.punica
            punica.order = punica.order.to(self.device, non_blocking=True)
        inputs, hidden = self._forward(so)
        num_out = len(so.requests) + len(so.forks)
        sampled: list[tuple[int, ...]] = [()] * num_out
        logprobs: list[TokenLogprobs] = [None] * num_out
        if inputs.sampling_rows:
            logits = self.model.compute_logits(hidden[inputs.logits_indices.to(self.device, non_blocking=True)])
            if so.grammar_bitmask is not None:
                logits = apply_grammar_bitmask(logits, so.grammar_bitmask.to(self.device, non_blocking=True))
            self._sample(logits, so, inputs, sampled, logprobs)
        req_ids = so.req_ids + tuple(child.request_id for _, child in so.forks)
        return ModelRunnerOutput(req_ids, tuple(sampled), tuple(logprobs))

    def _forward(self, so: SchedulerOutput) -> tuple[ModelInputs, torch.Tensor]:
        """Build the step's inputs and run the model: eagerly, or by replaying a decode graph."""
        if self.buffers is None:
            inputs = prepare_inputs(so, self.block_size, self.workspace)
            return inputs, self.model(inputs.input_ids, inputs.positions, self.kv_caches, inputs.attn_metadata)
        tokens, sampling_rows, drafts = collect_tokens(so)
        graphs = self.graphs if self.graphs is not None and self.graphs.can_run(so.num_scheduled_tokens) else None
        pad_to = graphs.padded[len(so.requests)] if graphs is not None else None
        ids, positions, md = self.buffers.prepare(so, tokens, pad_to)
        inputs = ModelInputs(ids, positions, md, sampling_rows, spec_metadata(so, sampling_rows, drafts))
        if graphs is not None:
            return inputs, graphs.replay(len(so.requests))
        return inputs, self.model(ids, positions, self.kv_caches, md)

    def _sample(
        self,
        logits: torch.Tensor,
        so: SchedulerOutput,
        inputs: ModelInputs,
        sampled: list[tuple[int, ...]],
        logprobs: list[TokenLogprobs],
    ) -> None:
        """Draw each sampling request's next token (and its forks'), then verify drafts.

        Every sampling request's *bonus* row (the position after its last
        draft, or its only row) is sampled like a plain decode step; a fork
        child draws from its parent's row with its own parameters.
        """
        spec = inputs.spec
        rows = list(inputs.sampling_rows) + [len(so.requests) + f for f in range(len(so.forks))]
        parent_of = {row: j for j, row in enumerate(inputs.sampling_rows)}
        picks = list(range(len(inputs.sampling_rows))) + [parent_of[p] for p, _ in so.forks]
        reqs = [so.requests[i] for i in inputs.sampling_rows] + [child for _, child in so.forks]
        states = [self.states[r.request_id] for r in reqs]
        md = sampling_metadata_to(make_sampling_metadata(reqs, states, self.vocab_size), self.device)
        out = self.sampler(logits[spec.bonus_logits_indices.to(self.device)][picks], md)
        tokens = [[t] for t in out.sampled_token_ids.tolist()]
        if spec.draft_token_ids.numel():
            self._verify_drafts(logits, spec, reqs, states, tokens)
        for j, (row, req) in enumerate(zip(rows, reqs)):
            sampled[row] = tuple(tokens[j])
            k = req.sampling_params.logprobs
            if k is None:
                continue
            if j < len(spec.num_draft_tokens) and spec.num_draft_tokens[j]:
                first = int(spec.bonus_logits_indices[j]) - spec.num_draft_tokens[j]
                logprobs[row] = verified_logprobs(logits[first : first + len(tokens[j])], tokens[j], k)
            elif out.logprobs is not None:
                logprobs[row] = (logprobs_for_row(out.logprobs, j, k, tokens[j][0]),)

    def _verify_drafts(
        self,
        logits: torch.Tensor,
        spec: SpecDecodeMetadata,
        reqs: Sequence[Request],
        states: Sequence[CachedRequestState],
        tokens: list[list[int]],
    ) -> None:
        """Replace each drafting request's single token by what rejection sampling emits.

        The draft rows get the same penalties-free processing a sampled row
        would (temperature, min-p, top-k, top-p), so that accepting a draft
        with the target probability keeps the target distribution.
        """
        owners = [j for j, k in enumerate(spec.num_draft_tokens) if k]
        counts = [spec.num_draft_tokens[j] for j in owners]
        md = make_sampling_metadata([reqs[j] for j in owners], [states[j] for j in owners], self.vocab_size)
        md = sampling_metadata_to(md, self.device)
        target = self.sampler.process(logits[spec.target_logits_indices.to(self.device)], expand_for_drafts(md, counts))
        verified = rejection_sample(
            spec.draft_token_ids.to(self.device),
            counts,
            target,
            torch.tensor([tokens[j][0] for j in owners]),
            md.temperature == 0,
            md.generators or {},
            self.sampler.generator,
        )
        for j, emitted in zip(owners, verified):
            tokens[j] = emitted

    # upstream: vllm/v1/worker/gpu_model_runner.py:1116 — GPUModelRunner._update_states()
    def _update_states(self, so: SchedulerOutput) -> None:
        """Forget finished requests; create state for requests (and forks) seen the first time."""
        for req_id in so.finished_req_ids:
            self.states.pop(req_id, None)
        if self.buffers is not None:
            self.buffers.release(so.finished_req_ids | so.preempted_req_ids)
        for req in [*so.requests, *(child for _, child in so.forks)]:
            if req.request_id not in self.states:
                self.states[req.request_id] = CachedRequestState(req, self.vocab_size, self.device)


def verified_logprobs(logits: torch.Tensor, token_ids: Sequence[int], k: int) -> tuple[dict[int, Logprob], ...]:
    """Log-probs of the tokens a verification pass emitted, one row per token."""
    lp = gather_logprobs(logits.log_softmax(dim=-1), k, torch.tensor(list(token_ids), device=logits.device))
    return tuple(logprobs_for_row(lp, i, k, t) for i, t in enumerate(token_ids))


def copy_kv_blocks(kv_caches: Sequence[torch.Tensor], copies: Sequence[tuple[int, int]]) -> None:
    """Copy whole blocks (all layers, keys and values): the copy half of copy-on-write."""
    if not copies:
        return
    device = kv_caches[0].device
    src = torch.tensor([s for s, _ in copies], device=device)
    dst = torch.tensor([d for _, d in copies], device=device)
    for cache in kv_caches:
        cache[:, :, dst] = cache[:, :, src]


def allocate_kv_cache(model: LlamaForCausalLM, cache_config: CacheConfig) -> list[torch.Tensor]:
    """One ``[2, kv_heads, num_blocks, block_size, head_dim]`` tensor per layer.

    Zero-filled so that never-written slots (the null block, padding) hold
    finite numbers; masked-out garbage could otherwise be NaN and poison
    the softmax through ``0 * NaN``.
    """
    cfg = model.config
    weight = model.lm_head.weight
    shape = (2, cfg.num_key_value_heads, cache_config.num_blocks, cache_config.block_size, cfg.head_dim)
    return [torch.zeros(shape, dtype=weight.dtype, device=weight.device) for _ in range(cfg.num_hidden_layers)]
