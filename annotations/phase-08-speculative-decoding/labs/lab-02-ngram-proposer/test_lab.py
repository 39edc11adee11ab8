"""Lab 08.02 tests: prompt-lookup drafts equal a brute-force search and respect the caps."""

from __future__ import annotations

import random

from annotator.labs import load_impl

impl = load_impl(__file__)


def brute_force(tokens, min_n, max_n, k):
    """The oracle: longest suffix first, most recent earlier occurrence, self-extending copy."""
    for n in range(min(max_n, len(tokens) - 1), min_n - 1, -1):
        suffix = tokens[len(tokens) - n :]
        starts = [j for j in range(len(tokens) - n) if tokens[j : j + n] == suffix]
        if starts:
            out = list(tokens)
            pos = starts[-1] + n
            for i in range(k):
                out.append(out[pos + i])
            return out[len(tokens) :]
    return []


def test_hand_cases():
    """No recurrence → []; longest suffix wins; most recent wins; a loop yields all k tokens."""
    assert impl.find_draft([1, 2, 3, 4], 1, 3, 3) == []
    # suffix [2, 3] occurred at 0 (followed by 9); suffix [3] more recently at 5 (followed by 7)
    assert impl.find_draft([2, 3, 9, 8, 8, 3, 7, 2, 3], 1, 2, 1) == [9]
    assert impl.find_draft([5, 1, 6, 5, 2, 6, 5], 1, 1, 2) == [2, 6]
    assert impl.find_draft([1, 2, 1, 2, 1, 2], 2, 2, 5) == [1, 2, 1, 2, 1]


def test_random_sequences_match_brute_force():
    """300 random sequences over 3 symbols: the draft equals the brute-force search."""
    rng = random.Random(0)
    for _ in range(300):
        tokens = [rng.randint(0, 2) for _ in range(rng.randint(1, 25))]
        min_n = rng.randint(1, 2)
        max_n = rng.randint(min_n, 4)
        k = rng.randint(1, 6)
        assert impl.find_draft(tokens, min_n, max_n, k) == brute_force(tokens, min_n, max_n, k), tokens


def test_proposer_caps():
    """Drafts stop at the request's remaining budget and never reach past max_model_len."""
    proposer = impl.NgramProposer(num_speculative_tokens=5, prompt_lookup_min=1, prompt_lookup_max=3, max_model_len=12)
    loop = [1, 2] * 4  # 8 tokens
    drafts = proposer.propose([loop, loop, [7, 8, 9]], max_drafts=[5, 2, 5])
    assert drafts[0] == [1, 2, 1]  # 8 + 3 + 1 bonus token = 12 = max_model_len
    assert drafts[1] == [1, 2]
    assert drafts[2] == []
