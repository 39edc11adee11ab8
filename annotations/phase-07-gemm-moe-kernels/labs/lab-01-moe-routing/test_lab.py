"""Lab 07.01 tests: top-k routing, and grouped expert execution == the per-token definition."""

from __future__ import annotations

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

E, HIDDEN, INTER = 6, 8, 12


def rand(*shape, seed: int) -> torch.Tensor:
    """Seeded float64 normal tensor."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def experts(seed: int = 0):
    """Random expert weights w1 [E, 2*INTER, HIDDEN] and w2 [E, HIDDEN, INTER]."""
    return rand(E, 2 * INTER, HIDDEN, seed=seed) * 0.3, rand(E, HIDDEN, INTER, seed=seed + 1) * 0.3


def per_token_moe(x, weights, ids, w1, w2):
    """The oracle: for each token, the weighted sum of its experts' outputs."""
    out = torch.zeros_like(x)
    for t in range(x.shape[0]):
        for weight, e in zip(weights[t].tolist(), ids[t].tolist()):
            out[t] += weight * impl.expert_mlp(x[t : t + 1], w1[e], w2[e])[0]
    return out


def test_routing_picks_top_k_and_normalises():
    """ids are the k largest logits; weights sum to 1 renormalised, equal softmax probs otherwise."""
    logits = rand(5, E, seed=1)
    weights, ids = impl.topk_routing(logits, 2, renormalize=True)
    expected_ids = logits.argsort(dim=-1, descending=True)[:, :2]
    assert torch.equal(ids, expected_ids)
    torch.testing.assert_close(weights.sum(-1), torch.ones(5, dtype=weights.dtype))
    raw, _ = impl.topk_routing(logits, 2, renormalize=False)
    probs = torch.softmax(logits, -1).gather(1, expected_ids)
    torch.testing.assert_close(raw.double(), probs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("top_k,tokens", [(1, 7), (2, 9), (3, 4)])
def test_grouped_equals_per_token(top_k: int, tokens: int):
    """The grouped MoE output equals the per-token loop for several k and token counts."""
    x = rand(tokens, HIDDEN, seed=2)
    w1, w2 = experts()
    weights, ids = impl.topk_routing(rand(tokens, E, seed=3), top_k)
    got = impl.grouped_moe(x, weights, ids, w1, w2)
    torch.testing.assert_close(got, per_token_moe(x, weights, ids, w1, w2))


def test_each_used_expert_runs_once(monkeypatch):
    """expert_mlp runs once per expert that has tokens and never for an unused expert."""
    x = rand(8, HIDDEN, seed=4)
    w1, w2 = experts()
    ids = torch.tensor([[0, 3]] * 4 + [[3, 5]] * 4)
    weights = torch.full((8, 2), 0.5)
    calls: list[int] = []
    real = impl.expert_mlp

    def counting(rows, a, b):
        calls.append(next(e for e in range(E) if a is w1[e] or torch.equal(a, w1[e])))
        return real(rows, a, b)

    monkeypatch.setattr(impl, "expert_mlp", counting)
    impl.grouped_moe(x, weights, ids, w1, w2)
    assert sorted(calls) == [0, 3, 5]


def test_duplicate_tokens_get_identical_outputs():
    """Two copies of one token in a batch produce identical outputs."""
    x = rand(5, HIDDEN, seed=5)
    x[4] = x[1]
    w1, w2 = experts(seed=7)
    weights, ids = impl.topk_routing(rand(5, E, seed=6), 2)
    ids[4], weights[4] = ids[1], weights[1]
    out = impl.grouped_moe(x, weights, ids, w1, w2)
    torch.testing.assert_close(out[4], out[1])
