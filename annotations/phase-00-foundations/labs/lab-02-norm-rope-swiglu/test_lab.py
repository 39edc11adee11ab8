"""Lab 00.02 tests: RMSNorm, SiluAndMul and the rotary rotation against their definitions."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from annotator.labs import load_impl

impl = load_impl(__file__)


def gen(seed: int) -> torch.Generator:
    """A seeded generator, so every test sees the same numbers."""
    return torch.Generator().manual_seed(seed)


def test_rmsnorm_matches_float64_formula_and_is_scale_invariant():
    """RMSNorm equals x / rms(x) * w computed in float64, and RMSNorm(3x) == RMSNorm(x)."""
    norm = impl.RMSNorm(16, eps=1e-6)
    with torch.no_grad():
        norm.weight.copy_(torch.rand(16, generator=gen(0)) + 0.5)
    x = torch.randn(5, 16, generator=gen(1))
    x64 = x.double()
    expected = x64 / torch.sqrt(x64.pow(2).mean(-1, keepdim=True) + 1e-6) * norm.weight.double()
    out = norm(x)
    torch.testing.assert_close(out.double(), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(norm(3 * x), out, atol=1e-5, rtol=1e-5)


def test_rmsnorm_eps_sits_inside_the_root():
    """With a large eps the result is x / sqrt(mean(x^2) + eps) * w, and a zero vector stays zero."""
    norm = impl.RMSNorm(4, eps=0.5)
    x = torch.tensor([[1.0, -2.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0]])
    want = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 0.5)
    torch.testing.assert_close(norm(x), want * norm.weight)


def test_rmsnorm_float16_does_not_overflow():
    """Float16 inputs near 1000 (squares beyond float16's range) still normalise correctly."""
    norm = impl.RMSNorm(8).half()
    x = (torch.randn(3, 8, generator=gen(2)) * 1000).half()
    out = norm(x)
    assert out.dtype == torch.float16 and torch.isfinite(out).all()
    x64 = x.double()
    expected = x64 / x64.pow(2).mean(-1, keepdim=True).sqrt()
    torch.testing.assert_close(out.double(), expected, atol=2e-3, rtol=2e-3)


def test_silu_and_mul_gates_the_second_half():
    """SiluAndMul([g | u]) == silu(g) * u."""
    x = torch.randn(4, 10, generator=gen(3))
    torch.testing.assert_close(impl.SiluAndMul()(x), F.silu(x[:, :5]) * x[:, 5:])


def rope(head_dim: int = 8, max_pos: int = 64):
    """A rotary embedding with a small base so angles differ visibly between positions."""
    return impl.RotaryEmbedding(head_dim, max_pos, base=100.0)


def test_rotation_preserves_length_and_fixes_position_zero():
    """Rotated vectors keep their norm; position 0 is the identity."""
    r = rope()
    q = torch.randn(6, 2, 8, generator=gen(4))
    k = torch.randn(6, 1, 8, generator=gen(5))
    positions = torch.tensor([0, 3, 7, 0, 20, 63])
    q2, k2 = r(positions, q, k)
    torch.testing.assert_close(q2.norm(dim=-1), q.norm(dim=-1))
    torch.testing.assert_close(q2[0], q[0])
    torch.testing.assert_close(k2[3], k[3])
    assert not torch.allclose(q2[1], q[1])


def test_rotation_equals_complex_multiplication():
    """The half-split rotation equals multiplying (x1 + i·x2) by e^{i·pos·freq}."""
    r = rope()
    x = torch.randn(5, 3, 8, generator=gen(6))
    positions = torch.tensor([1, 2, 9, 30, 44])
    rotated, _ = r(positions, x, x[:, :1])
    freqs = 1.0 / (100.0 ** (torch.arange(0, 8, 2).double() / 8))
    angle = positions.double()[:, None] * freqs[None, :]
    z = torch.complex(x[..., :4].double(), x[..., 4:].double()) * torch.polar(
        torch.ones_like(angle), angle
    )[:, None, :]
    expected = torch.cat((z.real, z.imag), dim=-1)
    torch.testing.assert_close(rotated.double(), expected, atol=1e-5, rtol=1e-5)


def test_attention_score_depends_only_on_distance():
    """q·k after rotation at positions (m, n) equals the score at (m + s, n + s)."""
    r = rope()
    q = torch.randn(1, 1, 8, generator=gen(7)).repeat(4, 1, 1)
    k = torch.randn(1, 1, 8, generator=gen(8)).repeat(4, 1, 1)
    q_pos = torch.tensor([5, 15, 25, 40])
    k_pos = q_pos - 3
    qr, _ = r(q_pos, q, k)
    _, kr = r(k_pos, q, k)
    scores = (qr * kr).sum(-1).flatten()
    torch.testing.assert_close(scores, scores[:1].expand(4), atol=1e-5, rtol=1e-5)
    _, k_far = r(q_pos - 10, q, k)
    assert not torch.allclose((qr * k_far).sum(-1).flatten(), scores)
