"""Read and check a PEFT ``adapter_config.json``."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

ADAPTER_CONFIG = "adapter_config.json"


# upstream: vllm/lora/peft_helper.py:20 — PEFTHelper
@dataclass(frozen=True)
class PEFTHelper:
    """The LoRA hyper-parameters that change the forward pass.

    Attributes:
        r: Rank of every adapted layer.
        lora_alpha: Numerator of the scaling factor.
        target_modules: Module names (or one regex) the adapter was trained on.
        use_rslora: rsLoRA scales by ``alpha / sqrt(r)`` instead of ``alpha / r``.
    """

    r: int
    lora_alpha: float
    target_modules: tuple[str, ...] | str
    use_rslora: bool = False

    @property
    def scaling(self) -> float:
        """The factor multiplying ``B A x``."""
        return self.lora_alpha / (math.sqrt(self.r) if self.use_rslora else self.r)

    # upstream: vllm/lora/peft_helper.py:61 — PEFTHelper.from_dict()
    @classmethod
    def from_dict(cls, cfg: dict) -> PEFTHelper:
        """Keep the fields we use; refuse features that would change the math silently.

        Raises:
            ValueError: For DoRA, trained biases, extra saved modules,
                per-module ranks or transposed weights — an adapter using them
                would load without error and then compute the wrong thing.
        """
        unsupported = [
            (cfg.get("peft_type", "LORA") != "LORA", f"peft_type {cfg.get('peft_type')!r} (only LORA)"),
            (bool(cfg.get("use_dora")), "DoRA"),
            (cfg.get("bias", "none") != "none", f"bias={cfg.get('bias')!r}"),
            (bool(cfg.get("lora_bias")), "lora_bias"),
            (bool(cfg.get("modules_to_save")), "modules_to_save"),
            (bool(cfg.get("rank_pattern")) or bool(cfg.get("alpha_pattern")), "rank/alpha patterns"),
            (bool(cfg.get("fan_in_fan_out")), "fan_in_fan_out"),
        ]
        problems = [what for bad, what in unsupported if bad]
        if problems:
            raise ValueError(f"unsupported LoRA features: {', '.join(problems)}")
        targets = cfg.get("target_modules") or ()
        return cls(
            r=int(cfg["r"]),
            lora_alpha=float(cfg.get("lora_alpha", cfg["r"])),
            target_modules=targets if isinstance(targets, str) else tuple(targets),
            use_rslora=bool(cfg.get("use_rslora", False)),
        )

    # upstream: vllm/lora/peft_helper.py:81 — PEFTHelper.from_local_dir()
    @classmethod
    def from_local_dir(cls, lora_path: str | Path) -> PEFTHelper:
        """Load ``adapter_config.json`` from an adapter directory."""
        path = Path(lora_path) / ADAPTER_CONFIG
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no adapter_config.json; is this a PEFT adapter directory?")
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from exc
