"""Tests for minivllm.sample.ops."""

from __future__ import annotations

import torch

from minivllm.sample import ops

NEG = float("-inf")


def test_penalties_match_hand_computation() -> None:
    """Repetition divides positive/multiplies negative seen logits; presence/frequency subtract."""
    logits = torch.tensor([[2.0, -2.0, 1.0, 1.0]])
    prompt = torch.tensor([[True, False, False, False]])
    counts = torch.tensor([[0.0, 1.0, 3.0, 0.0]])
    out = ops.apply_penalties(
        logits, prompt, counts, torch.tensor([2.0]), torch.tensor([0.5]), torch.tensor([0.1])
    )
    expected = torch.tensor([[1.0, -4.0 - 0.1 - 0.5, 0.5 - 0.3 - 0.5, 1.0]])
    torch.testing.assert_close(out, expected)


def test_temperature_leaves_greedy_rows_alone() -> None:
    """Rows with temperature 0 are divided by 1, others by their temperature."""
    logits = torch.ones(2, 3) * 4
    out = ops.apply_temperature(logits, torch.tensor([0.0, 2.0]))
    torch.testing.assert_close(out, torch.tensor([[4.0] * 3, [2.0] * 3]))


def test_min_p_drops_tokens_below_fraction_of_best() -> None:
    """Tokens with p < min_p * p_max are masked, the rest kept."""
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    out = ops.apply_min_p(probs.log(), torch.tensor([0.4]))
    assert torch.isinf(out).tolist() == [[False, False, True, True]]


def test_top_k_keeps_exactly_k_per_row() -> None:
    """Top-k keeps the k largest logits of each row, with k chosen per row (0 = all)."""
    logits = torch.tensor([[1.0, 5.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
    out = ops.apply_top_k_top_p(logits, torch.tensor([2, 0]), None)
    assert torch.isfinite(out).tolist() == [[False, True, False, True], [True] * 4]
    torch.testing.assert_close(out[1], logits[1])


def test_top_p_keeps_smallest_nucleus() -> None:
    """Top-p keeps the most likely tokens until their mass reaches p, always at least one."""
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05], [0.5, 0.3, 0.15, 0.05]])
    out = ops.apply_top_k_top_p(probs.log(), None, torch.tensor([0.75, 0.1]))
    assert torch.isfinite(out).tolist() == [[True, True, False, False], [True, False, False, False]]


def test_random_sample_follows_probabilities() -> None:
    """Empirical frequencies of the exponential race match the distribution."""
    probs = torch.tensor([0.6, 0.3, 0.1, 0.0]).repeat(20000, 1)
    draws = ops.random_sample(probs, {}, torch.Generator().manual_seed(0))
    freq = torch.bincount(draws, minlength=4).float() / len(draws)
    torch.testing.assert_close(freq, torch.tensor([0.6, 0.3, 0.1, 0.0]), atol=0.015, rtol=0)


def test_seeded_rows_ignore_the_shared_generator() -> None:
    """A row with its own generator draws the same token whatever the shared generator does."""
    probs = torch.full((3, 50), 1 / 50)
    seeded, unseeded = set(), set()
    for shared_seed in range(4):
        gens = {1: torch.Generator().manual_seed(99)}
        draws = ops.random_sample(probs, gens, torch.Generator().manual_seed(shared_seed))
        seeded.add(int(draws[1]))
        unseeded.add(int(draws[0]))
    assert len(seeded) == 1
    assert len(unseeded) > 1
