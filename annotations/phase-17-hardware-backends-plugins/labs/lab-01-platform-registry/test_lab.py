"""Lab 17.01 tests: platform resolution picks exactly one platform, out-of-tree first, robustly."""

from __future__ import annotations

import collections

import pytest

from annotator.labs import load_impl

impl = load_impl(__file__)


def present(qualname):
    """A probe for hardware that is there."""
    return lambda: qualname


def absent():
    """A probe for hardware that is not there."""
    return None


def broken():
    """A probe whose driver import fails."""
    raise ImportError("libcuda.so not found")


def test_one_builtin_none_or_two():
    """One active built-in wins; none → unspecified; two → RuntimeError naming both."""
    assert impl.resolve_platform({"cuda": absent, "cpu": present("p.Cpu")}, {}) == "p.Cpu"
    assert impl.resolve_platform({"cuda": absent, "cpu": absent}, {}) == impl.UNSPECIFIED
    with pytest.raises(RuntimeError, match="cuda.*cpu|cpu.*cuda"):
        impl.resolve_platform({"cuda": present("p.Cuda"), "cpu": present("p.Cpu")}, {})


def test_out_of_tree_wins_and_allow_list_filters():
    """An active external plugin beats built-ins; two conflict unless the allow-list drops one."""
    builtin = {"cpu": present("p.Cpu")}
    assert impl.resolve_platform(builtin, {"npu": present("v.Npu")}) == "v.Npu"
    two = {"npu": present("v.Npu"), "hpu": present("w.Hpu")}
    with pytest.raises(RuntimeError):
        impl.resolve_platform(builtin, two)
    assert impl.resolve_platform(builtin, two, allowed=["hpu"]) == "w.Hpu"
    assert impl.resolve_platform(builtin, two, allowed=[]) == "p.Cpu"
    assert list(impl.select_plugins(two, ["npu", "zzz"])) == ["npu"]


def test_raising_probe_counts_as_absent():
    """A probe that raises is skipped, in either group, without hiding the real platform."""
    assert impl.active_plugins({"cuda": broken, "cpu": present("p.Cpu"), "tpu": absent}) == ["cpu"]
    assert impl.resolve_platform({"cuda": broken, "cpu": present("p.Cpu")}, {"x": broken}) == "p.Cpu"


def test_load_qualname():
    """Dotted names load the object; a name without a module is refused."""
    assert impl.load_qualname("collections.OrderedDict") is collections.OrderedDict
    with pytest.raises(ValueError):
        impl.load_qualname("OrderedDict")
    with pytest.raises(AttributeError):
        impl.load_qualname("collections.NoSuchThing")
