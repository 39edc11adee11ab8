"""Lab 17.02: one op, several implementations, chosen by configuration and platform.

Layers such as RMSNorm or SiLU-and-mul exist in vLLM as *custom ops*: a plain PyTorch
``forward_native`` plus hand-written kernels per platform. Whether the kernel or the native
code runs is a per-op switch (``custom_ops`` in the compilation config: ``"all"`` or
``"none"`` as the default, ``"+rms_norm"`` / ``"-rms_norm"`` to override one op), because under
``torch.compile`` the native code is often *faster* — the compiler fuses it with its
neighbours. A registry maps op names to classes and lets an out-of-tree plugin replace an op's
class without touching the model code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

PLATFORM_METHODS = {"cuda": "forward_cuda", "rocm": "forward_hip", "cpu": "forward_cpu", "xpu": "forward_xpu"}


class CustomOp:
    """Base class: every platform method falls back to the native one unless overridden."""

    name = ""

    def forward_native(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_cuda(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_native(x)

    def forward_hip(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_cuda(x)

    def forward_cpu(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_native(x)

    def forward_xpu(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_native(x)

    def forward_oot(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_native(x)


def default_on(custom_ops: Sequence[str]) -> bool:
    """Whether ops without an explicit switch use their platform kernels."""
    n_all, n_none = custom_ops.count("all"), custom_ops.count("none")
    if n_all + n_none != 1:
        raise ValueError(f"custom_ops needs exactly one of 'all' or 'none', got {list(custom_ops)}")
    return n_none == 0


def op_enabled(name: str, custom_ops: Sequence[str]) -> bool:
    """Whether op ``name`` uses its platform kernel under this configuration."""
    plus, minus = f"+{name}" in custom_ops, f"-{name}" in custom_ops
    if plus and minus:
        raise ValueError(f"custom_ops both enables and disables {name!r}")
    return (default_on(custom_ops) or plus) and not minus


def dispatch(op: CustomOp, platform: str, custom_ops: Sequence[str]) -> Callable[[torch.Tensor], torch.Tensor]:
    """The bound method that will run ``op`` on ``platform``."""
    if not op_enabled(op.name, custom_ops):
        return op.forward_native
    return getattr(op, PLATFORM_METHODS.get(platform, "forward_oot"))


class OpRegistry:
    """Op name → class, plus out-of-tree replacements (no global state: one registry per use)."""

    def __init__(self) -> None:
        self.ops: dict[str, type[CustomOp]] = {}
        self.oot: dict[str, type[CustomOp]] = {}

    def register(self, name: str) -> Callable[[type[CustomOp]], type[CustomOp]]:
        """Class decorator naming an in-tree op."""

        def decorate(cls: type[CustomOp]) -> type[CustomOp]:
            if name in self.ops:
                raise ValueError(f"custom op {name!r} is already registered")
            cls.name = name
            self.ops[name] = cls
            return cls

        return decorate

    def register_oot(self, name: str) -> Callable[[type[CustomOp]], type[CustomOp]]:
        """Class decorator replacing an in-tree op by a plugin's class."""

        def decorate(cls: type[CustomOp]) -> type[CustomOp]:
            if name not in self.ops:
                raise KeyError(f"no in-tree custom op {name!r} to replace")
            cls.name = name
            self.oot[name] = cls
            return cls

        return decorate

    def create(self, name: str) -> CustomOp:
        """An instance of the op, the out-of-tree replacement if one is registered."""
        return self.oot.get(name, self.ops[name])()
