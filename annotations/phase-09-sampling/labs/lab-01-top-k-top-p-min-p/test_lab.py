"""Lab 09.01 tests: batched top-k / top-p / min-p masks equal a per-row Python reference."""

from __future__ import annotations

import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

V = 12


def reference_keep(row: torch.Tensor, k: int, p: float) -> set[int]:
    """Tokens kept by top-k, then top-p on the renormalised survivors, computed with sorted()."""
    order = sorted(range(V), key=lambda t: -float(row[t]))
    kept = order[: k if k > 0 else V]
    probs = torch.softmax(row[kept], -1).tolist()
    out, mass = [], 0.0
    for token, prob in zip(kept, probs):
        out.append(token)
        mass += prob
        if mass >= p:
            break
    return set(out)


def kept(masked: torch.Tensor) -> list[set[int]]:
    """Per row, the tokens whose logit is not -inf."""
    return [set(torch.nonzero(torch.isfinite(r)).flatten().tolist()) for r in masked]


def test_per_row_settings_match_reference():
    """Rows with different (k, p) keep exactly the reference tokens, with unchanged logits."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, V, generator=g) * 2
    top_k = torch.tensor([0, 1, 3, 5, 0, 12])
    top_p = torch.tensor([1.0, 1.0, 0.9, 0.5, 0.3, 0.75])
    out = impl.apply_top_k_top_p(logits, top_k, top_p)
    for r in range(6):
        assert kept(out)[r] == reference_keep(logits[r], int(top_k[r]), float(top_p[r])), r
    finite = torch.isfinite(out)
    assert torch.equal(out[finite], logits[finite])


def test_disabled_settings_change_nothing_and_best_token_survives():
    """None / k=0 / p=1 leave logits unchanged; a tiny p still keeps the argmax."""
    logits = torch.randn(3, V, generator=torch.Generator().manual_seed(1))
    assert torch.equal(impl.apply_top_k_top_p(logits, None, None), logits)
    assert torch.equal(impl.apply_top_k_top_p(logits, torch.zeros(3, dtype=torch.long), torch.ones(3)), logits)
    tiny = impl.apply_top_k_top_p(logits, None, torch.full((3,), 1e-6))
    assert [s for s in kept(tiny)] == [{int(logits[r].argmax())} for r in range(3)]
    wide = torch.randn(3, 1000, generator=torch.Generator().manual_seed(3))
    tinier = impl.apply_top_k_top_p(wide, None, torch.full((3,), 1e-9))  # 1 - p rounds to 1.0
    assert [int(torch.isfinite(row).sum()) for row in tinier] == [1, 1, 1]


def test_min_p_drops_below_fraction_of_best():
    """min_p keeps tokens with prob >= min_p * max_prob, per row; min_p = 0 keeps all."""
    logits = torch.randn(4, V, generator=torch.Generator().manual_seed(2)) * 2
    min_p = torch.tensor([0.0, 0.1, 0.5, 0.9])
    out = impl.apply_min_p(logits, min_p)
    probs = torch.softmax(logits, -1)
    for r in range(4):
        expected = {t for t in range(V) if probs[r, t] >= min_p[r] * probs[r].max()}
        assert kept(out)[r] == expected
    assert torch.equal(out[0], logits[0])
