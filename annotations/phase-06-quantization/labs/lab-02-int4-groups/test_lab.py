"""Lab 06.02 tests: exact 4-bit packing, per-group error bounds, weight-only linear == float."""

from __future__ import annotations

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)


def rand(*shape, seed: int) -> torch.Tensor:
    """Seeded float32 normal tensor."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_pack_unpack_round_trip_over_all_bytes():
    """Every pair of codes survives packing; every byte survives unpack-then-pack; bytes halve."""
    lo, hi = torch.meshgrid(torch.arange(16), torch.arange(16), indexing="ij")
    codes = torch.stack((lo.flatten(), hi.flatten()), dim=-1).to(torch.uint8)  # [256, 2]
    packed = impl.pack_int4(codes)
    assert packed.dtype == torch.uint8 and packed.shape == (256, 1)
    assert torch.equal(impl.unpack_int4(packed), codes)
    every_byte = torch.arange(256, dtype=torch.uint8).view(16, 16)
    assert torch.equal(impl.pack_int4(impl.unpack_int4(every_byte)), every_byte)


def test_error_is_within_half_a_step_of_each_group():
    """|w - dequant(quant(w))| <= scale/2 of the weight's own group; codes take half a byte each."""
    w = rand(8, 64, seed=0)
    packed, scales, zeros = impl.quantize_int4(w, group_size=16)
    assert packed.numel() == w.numel() // 2 and scales.shape == (8, 4) and zeros.shape == (8, 4)
    err = (impl.dequantize_int4(packed, scales, zeros, 16) - w).abs().view(8, 4, 16)
    assert (err <= scales[..., None] / 2 + 1e-5).all()


def test_constant_groups_are_exact_and_outliers_stay_local():
    """A constant group dequantises exactly; an outlier widens only its own group's scale."""
    w = rand(2, 32, seed=1) * 0.1
    w[0, :8] = 0.25
    w[1, 3] = 50.0
    packed, scales, zeros = impl.quantize_int4(w, group_size=8)
    back = impl.dequantize_int4(packed, scales, zeros, 8)
    torch.testing.assert_close(back[0, :8], w[0, :8])
    assert scales[1, 0] > 10 * scales[1, 1:].max()
    assert (back[1, 8:] - w[1, 8:]).abs().max() < 0.05


def test_weight_only_linear_equals_dequantised_matmul():
    """int4_linear(x) == x @ dequant(W).T, and is close to the float layer."""
    x, w = rand(4, 64, seed=2), rand(16, 64, seed=3)
    packed, scales, zeros = impl.quantize_int4(w, group_size=32)
    out = impl.int4_linear(x, packed, scales, zeros, 32)
    torch.testing.assert_close(out, x @ impl.dequantize_int4(packed, scales, zeros, 32).T)
    assert ((out - x @ w.T).norm() / (x @ w.T).norm()).item() < 0.15


def test_bad_group_size_is_rejected():
    """A width that is not a multiple of the group size raises ValueError."""
    with pytest.raises(ValueError):
        impl.quantize_int4(rand(2, 30, seed=4), group_size=16)
