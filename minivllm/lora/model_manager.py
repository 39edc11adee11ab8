"""Adapter slots in the model: load, place into a slot, map each step's tokens to slots."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from minivllm.lora.layers import LinearWithLoRA
from minivllm.lora.lora_model import LoRALayerWeights, LoRAModel
from minivllm.lora.punica_wrapper import NO_LORA, PunicaWrapper
from minivllm.lora.request import LoRARequest
from minivllm.model.llama import STACKED_PARAMS

SliceWeights = dict[str, dict[str, LoRALayerWeights]]
"""Wrapped module name → slice name → weights (one adapter, regrouped for our fused layers)."""


def _target_of(module_name: str) -> tuple[str, str]:
    """Checkpoint module → (our module, slice): ``...q_proj`` is slice ``q`` of ``...qkv_proj``."""
    dotted = module_name + "."
    for ckpt_part, fused_part, shard in STACKED_PARAMS:
        if dotted.endswith(ckpt_part):
            return dotted[: -len(ckpt_part)] + fused_part[:-1], shard
    return module_name, ""


def _slices_of(layer: nn.Linear) -> dict[str, tuple[int, int]]:
    """A fused layer's named row ranges, or one unnamed range for a plain one."""
    return dict(getattr(layer, "shard_offsets", None) or {"": (0, layer.out_features)})


# upstream: vllm/lora/model_manager.py:64 — LoRAModelManager
class LoRAModelManager:
    """Owns ``max_loras`` slots in every adapted layer, filled on demand (LRU).

    Every linear layer of the decoder blocks is wrapped at construction, so
    any adapter targeting any subset of them can be served; the vocabulary
    projection and embeddings are not adaptable here.

    Args:
        model: The base model, modified in place.
        max_loras: Adapters usable within one step.
        max_lora_rank: Largest adapter rank accepted.
    """

    def __init__(self, model: nn.Module, max_loras: int, max_lora_rank: int) -> None:
        if max_loras < 1 or max_lora_rank < 1:
            raise ValueError("max_loras and max_lora_rank must be >= 1")
        self.max_loras = max_loras
        self.max_lora_rank = max_lora_rank
        self.dtype = next(model.parameters()).dtype
        self.punica = PunicaWrapper()
        self.modules = self._create_lora_modules(model)
        self.lora_index_to_id: list[int | None] = [None] * max_loras
        self._registered: dict[int, SliceWeights] = {}
        self._last_used = [0] * max_loras
        self._clock = itertools.count(1)

    # upstream: vllm/lora/model_manager.py:375 — LoRAModelManager._create_lora_modules()
    def _create_lora_modules(self, model: nn.Module) -> dict[str, LinearWithLoRA]:
        """Replace each decoder ``nn.Linear`` with a ``LinearWithLoRA`` around it."""
        targets = [
            name for name, m in model.named_modules()
            if isinstance(m, nn.Linear) and ".layers." in f".{name}"
        ]
        wrapped = {}
        for name in targets:
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name)
            base = getattr(parent, child)
            layer = LinearWithLoRA(base, _slices_of(base), self.max_loras, self.max_lora_rank, self.punica)
            setattr(parent, child, layer)
            wrapped[name] = layer
        return wrapped

    # upstream: vllm/lora/model_manager.py:1130 — LoRAModelManager.add_adapter()
    def add_adapter(self, lora: LoRAModel) -> None:
        """Register a loaded adapter (kept in memory; placed in a slot when used).

        Raises:
            ValueError: When the adapter targets a module this model lacks or
                that cannot carry an adapter, or its rank is too large.
        """
        if lora.rank > self.max_lora_rank:
            raise ValueError(f"adapter {lora.lora_int_id}: rank {lora.rank} > max_lora_rank={self.max_lora_rank}")
        grouped: SliceWeights = {}
        for module_name, weights in lora.loras.items():
            target, shard = _target_of(module_name)
            layer = self.modules.get(target)
            if layer is None or shard not in layer.slices:
                raise ValueError(f"adapter {lora.lora_int_id}: module {module_name!r} cannot be adapted in this model")
            grouped.setdefault(target, {})[shard] = weights
        self._registered[lora.lora_int_id] = grouped

    def has_adapter(self, lora_int_id: int) -> bool:
        """Whether the adapter was registered already."""
        return lora_int_id in self._registered

    # upstream: vllm/lora/model_manager.py:285 — LoRAModelManager.activate_adapter()
    def activate_adapter(self, lora_int_id: int, in_use: set[int]) -> int:
        """The slot holding the adapter, loading it into one if needed.

        Args:
            lora_int_id: A registered adapter.
            in_use: Adapters the current step needs; their slots are not evicted.

        Raises:
            RuntimeError: When every slot holds an adapter of this step (the
                scheduler admits at most ``max_loras`` adapters per step).
        """
        if lora_int_id in self.lora_index_to_id:
            slot = self.lora_index_to_id.index(lora_int_id)
        else:
            free = [i for i, owner in enumerate(self.lora_index_to_id) if owner is None or owner not in in_use]
            if not free:
                raise RuntimeError(f"all {self.max_loras} LoRA slots are in use by this step")
            slot = min(free, key=lambda i: self._last_used[i])
            self._fill_slot(slot, lora_int_id)
        self._last_used[slot] = next(self._clock)
        return slot

    def _fill_slot(self, slot: int, lora_int_id: int) -> None:
        """Copy the adapter's weights into ``slot`` of every layer (zeros where it has none)."""
        grouped = self._registered[lora_int_id]
        for name, layer in self.modules.items():
            if name in grouped:
                layer.set_lora(slot, grouped[name])
            else:
                layer.reset_lora(slot)
        self.lora_index_to_id[slot] = lora_int_id

    # upstream: vllm/lora/worker_manager.py:183 — WorkerLoRAManager.set_active_adapters()
    def set_active_adapters(self, lora_requests: Sequence[LoRARequest | None], num_tokens: Sequence[int]) -> None:
        """Prepare a step: load and place its adapters, map its tokens to slots.

        Args:
            lora_requests: Per scheduled request, its adapter or None.
            num_tokens: Per scheduled request, its tokens in the flattened batch.
        """
        in_use = {r.lora_int_id for r in lora_requests if r is not None}
        for req in lora_requests:
            if req is not None and not self.has_adapter(req.lora_int_id):
                self.add_adapter(LoRAModel.from_local_checkpoint(req.lora_path, req.lora_int_id, self.dtype))
        slots = [NO_LORA if r is None else self.activate_adapter(r.lora_int_id, in_use) for r in lora_requests]
        token_slots = torch.repeat_interleave(
            torch.tensor(slots, dtype=torch.long), torch.tensor(list(num_tokens), dtype=torch.long)
        )
        self.punica.update_metadata(token_slots)
