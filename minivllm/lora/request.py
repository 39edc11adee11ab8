"""How a request names the adapter it wants."""

from __future__ import annotations

from dataclasses import dataclass


# upstream: vllm/lora/request.py:8 — LoRARequest
@dataclass(frozen=True)
class LoRARequest:
    """An adapter a request runs with.

    Attributes:
        lora_name: Human-readable name; also mixed into prefix-cache hashes,
            since the same tokens give different keys and values under
            different adapters.
        lora_int_id: Unique positive id of the adapter.
        lora_path: Directory in the PEFT format (``adapter_config.json`` and
            ``adapter_model.safetensors``).
    """

    lora_name: str
    lora_int_id: int
    lora_path: str

    def __post_init__(self) -> None:
        if self.lora_int_id < 1:
            raise ValueError(f"lora_int_id must be >= 1, got {self.lora_int_id}")
        if not self.lora_path:
            raise ValueError(f"adapter {self.lora_name!r}: lora_path is empty")
