"""Lab 06.01 tests: int8 round-trip bounds, integer GEMM == float GEMM of dequantised operands."""

from __future__ import annotations

import torch

from annotator.labs import load_impl

impl = load_impl(__file__)


def rand(*shape, seed: int) -> torch.Tensor:
    """Seeded float32 normal tensor."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_round_trip_error_is_at_most_half_a_step():
    """|x - dequant(quant(x))| <= scale / 2 per element; an all-zero row stays zero."""
    x = rand(6, 32, seed=0) * torch.tensor([1, 10, 0.01, 100, 1, 1.0])[:, None]
    x[4] = 0.0
    q, scale = impl.quantize_int8(x)
    assert q.dtype == torch.int8 and scale.shape == (6,)
    assert int(q.abs().max()) <= 127
    err = (impl.dequantize(q, scale) - x).abs()
    assert (err <= scale[:, None] / 2 + 1e-6).all()
    assert torch.equal(impl.dequantize(q, scale)[4], torch.zeros(32))
    assert torch.isfinite(scale).all() and scale[4] > 0 and not q[4].any()
    nonzero = [0, 1, 2, 3, 5]
    torch.testing.assert_close(scale[nonzero], x[nonzero].abs().amax(-1) / 127)  # one scale per row
    assert (q[nonzero].abs().amax(-1) == 127).all()


def test_requantising_dequantised_values_is_exact():
    """quant(dequant(q, s)) returns the same codes and scales (the grid is a fixed point)."""
    q, scale = impl.quantize_int8(rand(4, 16, seed=1))
    q2, scale2 = impl.quantize_int8(impl.dequantize(q, scale))
    assert torch.equal(q2, q)
    torch.testing.assert_close(scale2, scale)


def test_integer_gemm_equals_float_gemm_of_dequantised():
    """int8_scaled_mm == dequant(x) @ dequant(w).T: per-row scales factor out of the dot products."""
    x_q, x_s = impl.quantize_int8(rand(5, 64, seed=2))
    w_q, w_s = impl.quantize_int8(rand(7, 64, seed=3))
    out = impl.int8_scaled_mm(x_q, x_s, w_q, w_s)
    ref = impl.dequantize(x_q, x_s).double() @ impl.dequantize(w_q, w_s).double().T
    torch.testing.assert_close(out.double(), ref, rtol=1e-5, atol=1e-5)


def test_accumulator_does_not_overflow():
    """Rows of 4,096 values of ±127 accumulate to ±66M exactly (needs an int32 accumulator)."""
    ones = torch.full((2, 4096), 127, dtype=torch.int8)
    ones[1] = -127
    out = impl.int8_scaled_mm(ones, torch.ones(2), ones, torch.ones(2))
    expected = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]) * 127 * 127 * 4096
    assert torch.equal(out, expected)


def test_w8a8_linear_is_close_to_float():
    """The whole quantised layer is within 2% relative (Frobenius) error of the float layer."""
    x, w = rand(8, 128, seed=4), rand(32, 128, seed=5)
    w_q, w_s = impl.quantize_int8(w)
    out = impl.w8a8_linear(x, w_q, w_s)
    ref = x @ w.T
    assert ((out - ref).norm() / ref.norm()).item() < 0.02
