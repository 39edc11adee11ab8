"""Rejection sampling: greedy rows match argmax decoding; random rows keep the target distribution.

The statistical tests use a fixed seed and a stated significance level
(ALPHA): with the seed fixed the outcome is deterministic, and a sampler
with the classic bugs (accepting too often, drawing the replacement from
``p`` instead of ``p`` minus the draft) fails them by a wide margin.
"""

from __future__ import annotations

import pytest
import torch
from scipy.stats import chisquare

from minivllm.sample.rejection_sampler import rejection_sample, sample_recovered_tokens

ALPHA = 0.01
"""Significance level of every chi-square test here."""

TRIALS = 40_000
VOCAB = 6


def _batch(target_logits: torch.Tensor, drafts: list[int], trials: int, greedy: bool = False, seed: int = 0):
    """Run ``trials`` identical one-request problems through one batched call."""
    k = len(drafts)
    gen = torch.Generator().manual_seed(seed)
    bonus_probs = target_logits[k].softmax(-1)
    bonus = torch.multinomial(bonus_probs, trials, replacement=True, generator=gen)
    return rejection_sample(
        draft_token_ids=torch.tensor(drafts * trials),
        num_draft_tokens=[k] * trials,
        target_logits=target_logits[:k].repeat(trials, 1),
        bonus_token_ids=bonus,
        is_greedy=torch.full((trials,), greedy),
        generators={},
        default=gen,
    )


def _chi_square_pvalue(samples: list[int], probs: torch.Tensor) -> float:
    """p-value of "samples are drawn from probs" (tokens of zero probability must not occur)."""
    counts = torch.bincount(torch.tensor(samples), minlength=len(probs)).double()
    support = probs > 0
    assert counts[~support].sum() == 0, "sampled a token the target gives zero probability"
    expected = probs[support].double() * len(samples)
    return float(chisquare(counts[support], expected / expected.sum() * counts.sum()).pvalue)


@pytest.fixture(scope="module")
def target_logits() -> torch.Tensor:
    """Four positions (three drafts plus the bonus) over a six-token vocabulary."""
    return torch.randn(4, VOCAB, generator=torch.Generator().manual_seed(7)) * 1.5


def test_first_token_follows_target(target_logits: torch.Tensor) -> None:
    """The first emitted token is distributed as the target at that position."""
    drafts = [int(target_logits[0].argsort()[-2]), 1, 4]
    outs = _batch(target_logits, drafts, TRIALS)
    assert _chi_square_pvalue([o[0] for o in outs], target_logits[0].softmax(-1)) > ALPHA


def test_later_tokens_follow_target_given_accepted_prefix(target_logits: torch.Tensor) -> None:
    """Given the drafts before it were kept, each next token is distributed as the target there."""
    probs = target_logits.softmax(-1)
    # Drafts with high target probability so that later positions are reached often.
    drafts = [int(probs[i].argmax()) for i in range(3)]
    outs = _batch(target_logits, drafts, TRIALS)
    for pos in range(1, 4):
        reached = [o[pos] for o in outs if len(o) > pos and o[:pos] == drafts[:pos]]
        assert len(reached) > 1000
        assert _chi_square_pvalue(reached, probs[pos]) > ALPHA, f"position {pos}"


def test_general_draft_distribution_keeps_target(target_logits: torch.Tensor) -> None:
    """With a non-deterministic proposer q, accept/replace still yields exactly p."""
    gen = torch.Generator().manual_seed(3)
    q = torch.randn(VOCAB, generator=gen).softmax(-1)
    drafts = torch.multinomial(q, TRIALS, replacement=True, generator=gen)
    outs = rejection_sample(
        draft_token_ids=drafts,
        num_draft_tokens=[1] * TRIALS,
        target_logits=target_logits[:1].repeat(TRIALS, 1),
        bonus_token_ids=torch.zeros(TRIALS, dtype=torch.long),
        is_greedy=torch.zeros(TRIALS, dtype=torch.bool),
        generators={},
        default=gen,
        draft_probs=q.repeat(TRIALS, 1),
    )
    assert _chi_square_pvalue([o[0] for o in outs], target_logits[0].softmax(-1)) > ALPHA


def test_accepting_every_draft_would_fail_the_test(target_logits: torch.Tensor) -> None:
    """Control: the chi-square test rejects a sampler that always keeps the draft."""
    probs = target_logits[0].softmax(-1)
    draft = int(probs.argsort()[-2])
    gen = torch.Generator().manual_seed(0)
    honest = _batch(target_logits, [draft], TRIALS)
    # Over-acceptance: on half of the trials the draft is kept whatever the target says.
    coin = torch.rand(TRIALS, generator=gen) < 0.5
    biased = [draft if bool(c) else o[0] for o, c in zip(honest, coin)]
    assert _chi_square_pvalue(biased, probs) < ALPHA


def test_replacement_never_repeats_a_deterministic_draft() -> None:
    """With a one-hot proposer the leftover mass excludes the draft token itself."""
    gen = torch.Generator().manual_seed(1)
    probs = torch.randn(500, VOCAB, generator=gen).softmax(-1)
    drafts = torch.randint(0, VOCAB, (500,), generator=gen)
    rec = sample_recovered_tokens(probs, drafts, None, torch.arange(500), {}, gen)
    assert not bool((rec == drafts).any())


def test_greedy_keeps_drafts_while_they_equal_argmax() -> None:
    """Greedy rows keep the matching prefix, then emit the argmax (or the bonus)."""
    logits = torch.tensor([[0.0, 5.0, 1.0], [3.0, 0.0, 1.0], [0.0, 0.0, 9.0]])
    common = {
        "num_draft_tokens": [3],
        "target_logits": logits,
        "bonus_token_ids": torch.tensor([1]),
        "is_greedy": torch.tensor([True]),
        "generators": {},
        "default": torch.Generator().manual_seed(0),
    }
    assert rejection_sample(draft_token_ids=torch.tensor([1, 0, 2]), **common) == [[1, 0, 2, 1]]
    assert rejection_sample(draft_token_ids=torch.tensor([1, 2, 2]), **common) == [[1, 0]]
    assert rejection_sample(draft_token_ids=torch.tensor([0, 0, 2]), **common) == [[1]]


def test_requests_without_drafts_emit_only_the_bonus() -> None:
    """k = 0 rows pass the bonus token through and do not disturb their neighbours."""
    logits = torch.tensor([[0.0, 5.0, 1.0]])
    out = rejection_sample(
        draft_token_ids=torch.tensor([1]),
        num_draft_tokens=[0, 1, 0],
        target_logits=logits,
        bonus_token_ids=torch.tensor([2, 0, 1]),
        is_greedy=torch.tensor([True, True, True]),
        generators={},
        default=torch.Generator().manual_seed(0),
    )
    assert out == [[2], [1, 0], [1]]


def test_seeded_request_is_independent_of_its_batch(target_logits: torch.Tensor) -> None:
    """A request with its own generator gets the same tokens alone or among others."""
    drafts = [int(target_logits[0].argsort()[-2]), 3, 1]
    k = len(drafts)

    def run(num_neighbours: int) -> list[int]:
        n = num_neighbours + 1
        return rejection_sample(
            draft_token_ids=torch.tensor(drafts * n),
            num_draft_tokens=[k] * n,
            target_logits=target_logits[:k].repeat(n, 1),
            bonus_token_ids=torch.zeros(n, dtype=torch.long),
            is_greedy=torch.zeros(n, dtype=torch.bool),
            generators={num_neighbours: torch.Generator().manual_seed(42)},
            default=torch.Generator().manual_seed(num_neighbours),
        )[num_neighbours]

    assert run(0) == run(5) == run(17)
