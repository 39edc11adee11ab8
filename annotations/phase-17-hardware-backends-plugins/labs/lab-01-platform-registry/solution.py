"""Lab 17.01: decide which hardware platform the engine runs on.

Each platform (CUDA, ROCm, TPU, XPU, CPU, and out-of-tree ones such as Ascend NPUs) ships a
*probe*: a cheap function that checks for its hardware and, if present, returns the qualified
name of its ``Platform`` class. The engine calls every probe once at start-up. Out-of-tree
plugins, installed as separate packages and discovered through entry points, win over built-in
ones — that is how a vendor replaces the default behaviour without patching the engine — and an
allow-list lets a user load only some of them. Exactly one platform must come out; two is an
error the user must resolve, none falls back to an "unspecified" platform.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence

Probe = Callable[[], "str | None"]
UNSPECIFIED = "minilab.platforms.UnspecifiedPlatform"


def select_plugins(discovered: Mapping[str, Probe], allowed: Sequence[str] | None) -> dict[str, Probe]:
    """The discovered plugins the allow-list lets through (all of them when it is None)."""
    return {name: probe for name, probe in discovered.items() if allowed is None or name in allowed}


def active_plugins(plugins: Mapping[str, Probe]) -> list[str]:
    """Names of the plugins whose probe reports its platform present (errors mean absent)."""
    active = []
    for name, probe in plugins.items():
        try:
            found = probe()
        except Exception:  # a broken or missing driver is "not this platform", not a crash
            found = None
        if found is not None:
            active.append(name)
    return active


def resolve_platform(
    builtin: Mapping[str, Probe], external: Mapping[str, Probe], allowed: Sequence[str] | None = None
) -> str:
    """The qualified name of the one platform class to use."""
    external = select_plugins(external, allowed)
    for group in (external, builtin):
        active = active_plugins(group)
        if len(active) >= 2:
            raise RuntimeError(f"only one platform may be active, but {', '.join(active)} all are")
        if active:
            qualname = group[active[0]]()
            assert qualname is not None
            return qualname
    return UNSPECIFIED


def load_qualname(qualname: str) -> object:
    """Import ``package.module.Attr`` and return ``Attr``."""
    module_name, dot, attr = qualname.rpartition(".")
    if not dot:
        raise ValueError(f"{qualname!r} is not a qualified name (expected module.Attr)")
    return getattr(importlib.import_module(module_name), attr)
