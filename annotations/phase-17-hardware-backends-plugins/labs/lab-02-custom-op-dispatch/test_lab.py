"""Lab 17.02 tests: custom-op switches, platform dispatch, and out-of-tree replacement."""

from __future__ import annotations

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)


class Double(impl.CustomOp):
    """A toy op: native doubles, the 'CUDA kernel' doubles and tags itself."""

    name = "double"

    def forward_native(self, x):
        return 2 * x

    def forward_cuda(self, x):
        return 2 * x + 0.0


@pytest.mark.parametrize(
    "custom_ops,expected",
    [
        (["all"], True),
        (["none"], False),
        (["none", "+double"], True),
        (["all", "-double"], False),
        (["all", "+other", "-other2"], True),
    ],
)
def test_switch_table(custom_ops, expected: bool):
    """all/none set the default; +op and -op override it for that op only."""
    assert impl.op_enabled("double", custom_ops) is expected


@pytest.mark.parametrize("custom_ops", [[], ["all", "none"], ["all", "+double", "-double"]])
def test_invalid_switches(custom_ops):
    """Neither or both defaults, or +op with -op, is a ValueError."""
    with pytest.raises(ValueError):
        impl.op_enabled("double", custom_ops)


def test_dispatch_by_platform():
    """Disabled → forward_native; enabled → the platform's method; unknown platform → forward_oot."""
    op = Double()
    assert impl.dispatch(op, "cuda", ["none"]).__func__ is Double.forward_native
    assert impl.dispatch(op, "cuda", ["all"]).__func__ is Double.forward_cuda
    assert impl.dispatch(op, "rocm", ["all"]).__func__ is impl.CustomOp.forward_hip
    assert impl.dispatch(op, "cpu", ["all"]).__func__ is impl.CustomOp.forward_cpu
    assert impl.dispatch(op, "npu", ["all"]).__func__ is impl.CustomOp.forward_oot
    assert torch.equal(impl.dispatch(op, "rocm", ["all"])(torch.ones(2)), torch.full((2,), 2.0))


def test_registry_and_out_of_tree_override():
    """Duplicates and unknown replacements are refused; create() returns the OOT class once registered."""
    registry = impl.OpRegistry()
    registry.register("double")(Double)
    assert Double.name == "double" and type(registry.create("double")) is Double
    with pytest.raises(ValueError):
        registry.register("double")(Double)
    with pytest.raises(KeyError):
        registry.register_oot("triple")(Double)

    @registry.register_oot("double")
    class VendorDouble(impl.CustomOp):
        def forward_native(self, x):
            return x + x

        def forward_oot(self, x):
            return x * 2 + 100

    op = registry.create("double")
    assert type(op) is VendorDouble and op.name == "double"
    assert impl.dispatch(op, "npu", ["all"])(torch.zeros(1)).item() == 100.0
    assert registry.ops["double"] is Double
