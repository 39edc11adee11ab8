"""A linear layer that adds each token's adapter delta to the base output."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from minivllm.lora.lora_model import LoRALayerWeights
from minivllm.lora.punica_wrapper import PunicaWrapper


# upstream: vllm/lora/layers/base_linear.py:69 — BaseLinearLayerWithLoRA
class LinearWithLoRA(nn.Module):
    """Wraps a (possibly fused) linear layer with room for ``max_loras`` adapters.

    A fused projection such as q/k/v has one output *slice* per checkpoint
    module, each with its own A and B. Stacking the slices' A matrices along
    the rank and placing their B matrices block-diagonally turns the fused
    layer's adapters into a single LoRA of rank ``slices * max_rank``: one
    shrink and one expand serve all slices at once, and a slice the adapter
    does not touch is simply zero.

    Args:
        base_layer: The layer whose output is corrected.
        slices: Slice name → ``(first output row, rows)``; one unnamed slice
            covering every row for an unfused layer.
        max_loras: Adapter slots.
        max_rank: Largest rank an adapter may have.
        punica: The model's shared token → slot mapping.
    """

    def __init__(
        self,
        base_layer: nn.Linear,
        slices: Mapping[str, tuple[int, int]],
        max_loras: int,
        max_rank: int,
        punica: PunicaWrapper,
    ) -> None:
        super().__init__()
        self.base_layer = base_layer
        self.slices = dict(slices)
        self.max_rank = max_rank
        self.punica = punica
        dtype = base_layer.weight.dtype
        rank_total = len(self.slices) * max_rank
        self.register_buffer(
            "lora_a_stacked", torch.zeros(max_loras, rank_total, base_layer.in_features, dtype=dtype), persistent=False
        )
        self.register_buffer(
            "lora_b_stacked", torch.zeros(max_loras, base_layer.out_features, rank_total, dtype=dtype), persistent=False
        )

    # upstream: vllm/lora/layers/base_linear.py:152 — BaseLinearLayerWithLoRA.reset_lora()
    def reset_lora(self, slot: int) -> None:
        """Zero a slot, so tokens mapped to it get no correction."""
        self.lora_a_stacked[slot].zero_()
        self.lora_b_stacked[slot].zero_()

    # upstream: vllm/lora/layers/column_parallel_linear.py:300 — MergedColumnParallelLinearWithLoRA.set_lora()
    def set_lora(self, slot: int, weights: Mapping[str, LoRALayerWeights]) -> None:
        """Copy an adapter's per-slice weights into a slot, scaling folded into B.

        Raises:
            ValueError: For a rank above ``max_rank`` or a shape that does not
                fit the slice (an adapter trained for another model).
        """
        self.reset_lora(slot)
        for i, (name, (row, rows)) in enumerate(self.slices.items()):
            w = weights.get(name)
            if w is None:
                continue
            r = w.rank
            if r > self.max_rank:
                raise ValueError(f"{w.module_name}: rank {r} exceeds max_lora_rank={self.max_rank}")
            if w.lora_a.shape[1] != self.base_layer.in_features or w.lora_b.shape[0] != rows:
                raise ValueError(
                    f"{w.module_name}: A {tuple(w.lora_a.shape)} / B {tuple(w.lora_b.shape)} do not fit "
                    f"a layer {self.base_layer.in_features} -> {rows}"
                )
            col = i * self.max_rank
            self.lora_a_stacked[slot, col : col + r] = w.lora_a
            self.lora_b_stacked[slot, row : row + rows, col : col + r] = w.lora_b * w.scaling

    # upstream: vllm/lora/layers/base_linear.py:185 — BaseLinearLayerWithLoRA.apply()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Base output for every token, plus its adapter's delta where it has one."""
        y = self.base_layer(x)
        return self.punica.add_lora_linear(y, x, self.lora_a_stacked, self.lora_b_stacked)
