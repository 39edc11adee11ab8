"""Lab 08.03 tests: greedy verification, distribution preservation, seeded independence."""

from __future__ import annotations

import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

V = 5


def sample(drafts, counts, logits, bonus, greedy, generators=None, seed=0, draft_probs=None):
    """Call rejection_sample with tensors built from plain lists."""
    return impl.rejection_sample(
        torch.tensor(drafts, dtype=torch.long),
        counts,
        logits,
        torch.tensor(bonus, dtype=torch.long),
        torch.tensor(greedy),
        generators or {},
        torch.Generator().manual_seed(seed),
        draft_probs,
    )


def test_greedy_accepts_while_equal_to_argmax():
    """Greedy: drafts kept while they equal the argmax; then the argmax; all kept → bonus."""
    logits = torch.full((5, V), -5.0)
    for row, best in enumerate([1, 2, 3, 4, 0]):
        logits[row, best] = 5.0
    out = sample([1, 2, 0, 4, 0], [3, 2], logits, bonus=[9, 8], greedy=[True, True])
    assert out == [[1, 2, 3], [4, 0, 8]]
    assert sample([], [0], torch.zeros(0, V), bonus=[7], greedy=[True]) == [[7]]


def first_token_histogram(draft_probs, draft_token_ids, p_logits, n=20000):
    """Empirical distribution of the first emitted token over n single-draft requests."""
    logits = p_logits.expand(n, V).clone()
    q = None if draft_probs is None else draft_probs.expand(n, V).clone()
    out = sample(draft_token_ids[:n], [1] * n, logits, bonus=[0] * n, greedy=[False] * n, seed=3, draft_probs=q)
    firsts = torch.tensor([o[0] for o in out])
    return torch.bincount(firsts, minlength=V).float() / n


def test_output_follows_target_distribution_with_draft_probs():
    """Drafts sampled from q, verified against p: the first emitted token is distributed as p."""
    p_logits = torch.tensor([[2.0, 0.5, 1.0, -1.0, 0.0]])
    p = torch.softmax(p_logits, -1)[0]
    q = torch.tensor([[0.05, 0.6, 0.05, 0.25, 0.05]])
    drafts = torch.multinomial(q[0], 20000, replacement=True, generator=torch.Generator().manual_seed(1)).tolist()
    hist = first_token_histogram(q, drafts, p_logits)
    assert (hist - p).abs().max() < 0.02


def test_output_follows_target_distribution_with_deterministic_drafter():
    """An n-gram-style drafter (always token 3, no q): the first emitted token is still distributed as p."""
    p_logits = torch.tensor([[1.0, 0.0, 0.5, 1.5, -0.5]])
    p = torch.softmax(p_logits, -1)[0]
    hist = first_token_histogram(None, [3] * 20000, p_logits)
    assert (hist - p).abs().max() < 0.02


def test_seeded_request_ignores_its_neighbours():
    """A seeded random request emits the same tokens alone and in a batch with others."""
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(4, V, generator=g)
    alone = sample([1, 2, 3], [3], logits[:3], [4], [False], {0: torch.Generator().manual_seed(42)}, seed=0)
    batched = sample(
        [0, 1, 2, 3], [1, 3], torch.cat((logits[3:], logits[:3])), [2, 4], [False, False],
        {1: torch.Generator().manual_seed(42)}, seed=99,
    )  # fmt: skip
    assert batched[1] == alone[0]


def test_seeded_request_ignores_its_neighbours_for_any_default_seed():
    """Whatever the shared generator's seed, a seeded request's tokens do not change."""
    g = torch.Generator().manual_seed(7)
    for trial in range(8):
        logits = torch.randn(4, V, generator=g)
        alone = sample([1, 2, 3], [3], logits[:3], [4], [False], {0: torch.Generator().manual_seed(trial)}, seed=0)
        for seed in (1, 2, 3):
            batched = sample(
                [0, 1, 2, 3], [1, 3], torch.cat((logits[3:], logits[:3])), [2, 4], [False, False],
                {1: torch.Generator().manual_seed(trial)}, seed=seed,
            )  # fmt: skip
            assert batched[1] == alone[0], (trial, seed)


def test_greedy_row_rejects_a_likely_non_argmax_draft_in_a_mixed_batch():
    """Beside a random row, a greedy row still rejects any draft that is not the argmax."""
    logits = torch.zeros(2, V)
    logits[0, 1], logits[0, 2] = 2.0, 1.9  # draft 2 is likely, but not the argmax
    for seed in range(20):
        out = sample([2, 0], [1, 1], logits, bonus=[7, 7], greedy=[True, False], seed=seed)
        assert out[0] == [1], seed
