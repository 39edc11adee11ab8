"""Lab 11.01 tests: batched multi-LoRA equals a per-row loop; SGMV equals BGMV; -1 rows get the base."""

from __future__ import annotations

import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

IN, OUT, RANK, LORAS = 8, 6, 2, 3


def setup(seed: int = 0):
    """Base weight, adapter stacks and a float64 batch of 7 rows."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    return r(OUT, IN), r(LORAS, RANK, IN), r(LORAS, OUT, RANK), r(7, IN)


def per_row(x, base_w, lora_a, lora_b, indices, scaling):
    """The oracle: each row on its own with its own adapter (or none)."""
    rows = []
    for t, idx in enumerate(indices.tolist()):
        y = x[t] @ base_w.T
        if idx != -1:
            y = y + scaling * (lora_b[idx] @ (lora_a[idx] @ x[t]))
        rows.append(y)
    return torch.stack(rows)


def test_batched_equals_per_row_loop():
    """A mixed batch (three adapters and none) equals applying each row's adapter alone."""
    base_w, a, b, x = setup()
    indices = torch.tensor([2, 0, -1, 0, 1, -1, 2])
    got = impl.lora_linear(x, base_w, a, b, indices, scaling=0.5)
    torch.testing.assert_close(got, per_row(x, base_w, a, b, indices, 0.5))


def test_rows_without_adapter_get_the_base_output():
    """Index -1 rows equal x @ base_w.T exactly, and bgmv gives them zeros."""
    base_w, a, b, x = setup(1)
    indices = torch.tensor([-1, 1, -1, -1, 0, 2, -1])
    got = impl.lora_linear(x, base_w, a, b, indices, scaling=2.0)
    none = indices == -1
    torch.testing.assert_close(got[none], x[none] @ base_w.T)
    assert torch.equal(impl.bgmv(x, a, indices)[none], torch.zeros(int(none.sum()), RANK, dtype=torch.float64))


def test_segments_and_sgmv_equal_bgmv():
    """Segments of a sorted batch are its runs, and SGMV over them equals BGMV."""
    indices = [0, 0, 0, -1, 2, 2, 1]
    segs = impl.lora_segments(indices)
    assert [(s.start, s.end, s.adapter) for s in segs] == [(0, 3, 0), (3, 4, -1), (4, 6, 2), (6, 7, 1)]
    _, a, _, x = setup(2)
    torch.testing.assert_close(impl.sgmv(x, a, segs), impl.bgmv(x, a, torch.tensor(indices)))


def test_single_adapter_equals_merged_weight():
    """A batch that uses only adapter 1 equals the base layer with W + s·B·A merged in."""
    base_w, a, b, x = setup(3)
    indices = torch.full((7,), 1)
    merged = base_w + 0.25 * b[1] @ a[1]
    torch.testing.assert_close(impl.lora_linear(x, base_w, a, b, indices, 0.25), x @ merged.T)
