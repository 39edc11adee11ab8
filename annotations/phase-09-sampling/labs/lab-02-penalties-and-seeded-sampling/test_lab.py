"""Lab 09.02 tests: penalties == per-token loop, greedy-safe temperature, seeded exponential race."""

from __future__ import annotations

import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

V = 8


def test_penalties_equal_per_token_loop():
    """Each row's penalised logits equal the definitions applied token by token."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, V, generator=g) * 3
    prompt_mask = torch.rand(3, V, generator=g) < 0.3
    counts = torch.randint(0, 3, (3, V), generator=g).float()
    rep = torch.tensor([1.0, 1.3, 0.8])
    pres = torch.tensor([0.0, 0.5, -0.2])
    freq = torch.tensor([0.4, 0.0, 0.1])
    out = impl.apply_penalties(logits, prompt_mask, counts, rep, pres, freq)
    for r in range(3):
        for t in range(V):
            x = float(logits[r, t])
            if prompt_mask[r, t] or counts[r, t] > 0:
                x = x / float(rep[r]) if x > 0 else x * float(rep[r])
            x -= float(freq[r]) * float(counts[r, t])
            x -= float(pres[r]) * (1.0 if counts[r, t] > 0 else 0.0)
            assert abs(float(out[r, t]) - x) < 1e-5, (r, t)


def test_repetition_penalty_always_lowers_seen_tokens():
    """With penalty 2, a seen token's probability drops whether its logit is positive or negative."""
    logits = torch.tensor([[2.0, -1.0, 0.5, 0.0]])
    seen = torch.tensor([[True, True, False, False]])
    out = impl.apply_penalties(logits, seen, torch.zeros(1, 4), torch.tensor([2.0]), torch.zeros(1), torch.zeros(1))
    before, after = torch.softmax(logits, -1), torch.softmax(out, -1)
    assert after[0, 0] < before[0, 0] and after[0, 1] < before[0, 1]


def test_temperature_leaves_greedy_rows_alone():
    """Rows with temperature 0 are unchanged; others are divided by their temperature."""
    logits = torch.tensor([[1.0, 2.0], [1.0, 2.0]])
    out = impl.apply_temperature(logits, torch.tensor([0.0, 0.5]))
    assert torch.equal(out, torch.tensor([[1.0, 2.0], [2.0, 4.0]]))


def test_exponential_race_matches_distribution():
    """40,000 draws from one distribution: frequencies within 0.01 of the probabilities."""
    p = torch.tensor([0.5, 0.2, 0.15, 0.1, 0.05, 0.0, 0.0, 0.0])
    n = 40000
    tokens = impl.random_sample(p.expand(n, V).clone(), {}, torch.Generator().manual_seed(0))
    freq = torch.bincount(tokens, minlength=V).float() / n
    assert (freq - p).abs().max() < 0.01
    assert freq[5:].sum() == 0


def test_seeded_row_is_independent_of_its_batch():
    """A row with its own generator samples the same tokens alone or among other rows."""
    probs = torch.softmax(torch.randn(1, V, generator=torch.Generator().manual_seed(1)), -1)

    def draws(batch_rows: int, default_seed: int) -> list[int]:
        gen = torch.Generator().manual_seed(123)
        batch = probs.expand(batch_rows, V).clone()
        row = batch_rows - 1
        return [int(impl.random_sample(batch, {row: gen}, torch.Generator().manual_seed(default_seed + i))[row]) for i in range(20)]

    assert draws(1, 0) == draws(5, 1000)
    unseeded = [int(impl.random_sample(probs.clone(), {}, torch.Generator().manual_seed(s))[0]) for s in range(20)]
    assert len(set(unseeded)) > 1
