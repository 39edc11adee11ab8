"""An adapter loaded from disk: per module, the two low-rank matrices."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open

from minivllm.lora.peft_helper import PEFTHelper

ADAPTER_WEIGHTS = "adapter_model.safetensors"

_LORA_TENSOR = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<which>[AB])(?:\.[\w-]+)?\.weight$")
"""PEFT names ``base_model.model.<module>.lora_A.weight`` (older files carry
the adapter name too: ``lora_A.default.weight``)."""


# upstream: vllm/lora/utils.py:155 — parse_fine_tuned_lora_name()
def parse_fine_tuned_lora_name(name: str) -> tuple[str, bool]:
    """``(module name as in the base model, is it lora_A)`` for one PEFT tensor name.

    Raises:
        ValueError: For tensors that are not LoRA A/B matrices (embedding
            adapters, saved full modules), which this engine does not apply.
    """
    match = _LORA_TENSOR.match(name)
    if match is None:
        raise ValueError(f"{name!r} is not a LoRA A/B weight this engine can apply")
    return match["module"], match["which"] == "A"


# upstream: vllm/lora/lora_weights.py:13 — LoRALayerWeights
@dataclass(frozen=True)
class LoRALayerWeights:
    """One adapted module: ``delta(x) = scaling * B (A x)``.

    Attributes:
        module_name: Module path in the checkpoint's naming
            (``model.layers.0.self_attn.q_proj``).
        lora_a: ``[r, in_features]``.
        lora_b: ``[out_features, r]``.
        scaling: ``alpha / r`` (or ``alpha / sqrt(r)`` for rsLoRA).
    """

    module_name: str
    lora_a: torch.Tensor
    lora_b: torch.Tensor
    scaling: float

    @property
    def rank(self) -> int:
        """``r``."""
        return self.lora_a.shape[0]

    def delta_weight(self) -> torch.Tensor:
        """``scaling * B A``, the change merging would add to the base weight."""
        return self.scaling * self.lora_b @ self.lora_a


# upstream: vllm/lora/lora_model.py:60 — LoRAModel
@dataclass(frozen=True)
class LoRAModel:
    """All adapted modules of one adapter.

    Attributes:
        lora_int_id: The adapter's id (from its ``LoRARequest``).
        rank: ``r`` of the adapter.
        loras: Module name → its weights.
    """

    lora_int_id: int
    rank: int
    loras: dict[str, LoRALayerWeights]

    # upstream: vllm/lora/lora_model.py:117 — LoRAModel.from_lora_tensors()
    @classmethod
    def from_lora_tensors(
        cls,
        lora_int_id: int,
        peft: PEFTHelper,
        tensors: Iterable[tuple[str, torch.Tensor]],
        dtype: torch.dtype = torch.float32,
    ) -> LoRAModel:
        """Pair up A and B tensors per module and check their shapes.

        Raises:
            ValueError: When a module has A without B (or the reverse), or a
                rank that disagrees with ``adapter_config.json``.
        """
        halves: dict[str, dict[bool, torch.Tensor]] = {}
        for name, tensor in tensors:
            module, is_a = parse_fine_tuned_lora_name(name)
            halves.setdefault(module, {})[is_a] = tensor.to(dtype)
        loras = {}
        for module, pair in halves.items():
            if len(pair) != 2:
                raise ValueError(f"{module}: lora_{'AB'[True in pair]} without its partner")
            a, b = pair[True], pair[False]
            if a.shape[0] != peft.r or b.shape[1] != peft.r:
                raise ValueError(f"{module}: rank {a.shape[0]}/{b.shape[1]} but r={peft.r} in the config")
            loras[module] = LoRALayerWeights(module, a, b, peft.scaling)
        return cls(lora_int_id, peft.r, loras)

    # upstream: vllm/lora/lora_model.py:167 — LoRAModel.from_local_checkpoint()
    @classmethod
    def from_local_checkpoint(
        cls, lora_path: str | Path, lora_int_id: int, dtype: torch.dtype = torch.float32
    ) -> LoRAModel:
        """Load a PEFT adapter directory.

        Raises:
            FileNotFoundError: When the config or the weights are missing.
            ValueError: For unsupported features or inconsistent tensors.
        """
        peft = PEFTHelper.from_local_dir(lora_path)
        weights = Path(lora_path) / ADAPTER_WEIGHTS
        if not weights.is_file():
            raise FileNotFoundError(f"{weights}: no adapter weights (only safetensors is read)")
        with safe_open(str(weights), framework="pt") as f:
            tensors = [(name, f.get_tensor(name)) for name in f.keys()]  # noqa: SIM118 (safe_open is not iterable)
        try:
            return cls.from_lora_tensors(lora_int_id, peft, tensors, dtype)
        except ValueError as exc:
            raise ValueError(f"{weights}: {exc}") from exc
