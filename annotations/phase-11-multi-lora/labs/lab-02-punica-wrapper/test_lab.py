"""Lab 11.02 tests: Punica metadata, and per-token LoRA deltas equal a loop in every layer."""

from __future__ import annotations

import torch

from annotator.labs import load_impl

impl = load_impl(__file__)


def test_hand_worked_metadata():
    """Slots [2, -1, 0, 2, 0, -1, 1] → order [2, 4, 6, 0, 3], segments slots [0, 1, 2] lengths [2, 1, 2]."""
    w = impl.PunicaWrapper()
    w.update_metadata(torch.tensor([2, -1, 0, 2, 0, -1, 1]))
    assert w.order.tolist() == [2, 4, 6, 0, 3]
    assert list(w.seg_slots) == [0, 1, 2] and list(w.seg_lens) == [2, 1, 2]
    assert w.has_lora_tokens


def per_token(y, x, slots, a, b):
    """The oracle: y[t] + B[s] A[s] x[t] for tokens with a slot, y[t] otherwise."""
    out = y.clone()
    for t, s in enumerate(slots.tolist()):
        if s != -1:
            out[t] += b[s] @ (a[s] @ x[t])
    return out


def test_deltas_equal_loop_across_layers():
    """One update_metadata, two layers of different shapes: both equal the per-token loop."""
    g = torch.Generator().manual_seed(0)
    slots = torch.tensor([1, -1, 0, 2, 1, 1, -1, 0, 2, 2])
    w = impl.PunicaWrapper()
    w.update_metadata(slots)
    for d_in, d_out in ((8, 6), (6, 12)):
        x = torch.randn(10, d_in, generator=g, dtype=torch.float64)
        y = torch.randn(10, d_out, generator=g, dtype=torch.float64)
        a = torch.randn(3, 2, d_in, generator=g, dtype=torch.float64)
        b = torch.randn(3, d_out, 2, generator=g, dtype=torch.float64)
        expected = per_token(y, x, slots, a, b)
        base_rows = y[slots == -1].clone()
        out = w.add_lora_linear(y, x, a, b)
        assert out is y
        torch.testing.assert_close(y, expected)
        assert torch.equal(y[slots == -1], base_rows)


def test_no_adapter_batch_is_untouched():
    """With every token base-only, add_lora_linear leaves y exactly as it was."""
    w = impl.PunicaWrapper()
    w.update_metadata(torch.full((4,), impl.NO_LORA))
    y = torch.randn(4, 3)
    before = y.clone()
    assert not w.has_lora_tokens
    assert torch.equal(w.add_lora_linear(y, torch.randn(4, 5), torch.randn(1, 2, 5), torch.randn(1, 3, 2)), before)
