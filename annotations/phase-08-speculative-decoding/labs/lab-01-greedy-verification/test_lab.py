"""Lab 08.01 tests: speculative greedy decoding emits exactly the plain greedy tokens, in fewer passes."""

from __future__ import annotations

import math
import random

import pytest

from annotator.labs import load_impl

impl = load_impl(__file__)

VOCAB = 11


def toy_model(tokens):
    """A deterministic 'target': next token is a fixed function of the last two tokens."""
    preds = []
    for i, t in enumerate(tokens):
        prev = tokens[i - 1] if i else 0
        preds.append((3 * t + 5 * prev + 1) % VOCAB)
    return preds


def perfect(tokens, k):
    """Drafts exactly what the target will say."""
    out = list(tokens)
    for _ in range(k):
        out.append(toy_model(out)[-1])
    return out[len(tokens) :]


def always_wrong(tokens, k):
    """Drafts tokens that never match the target."""
    return [(t + 1) % VOCAB for t in perfect(tokens, k)]


def corrupted(tokens, k):
    """Perfect drafts with one position changed at a data-dependent place."""
    draft = perfect(tokens, k)
    rng = random.Random(len(tokens))
    if draft:
        i = rng.randrange(len(draft))
        draft[i] = (draft[i] + 1 + rng.randrange(VOCAB - 1)) % VOCAB
    return draft


def silent(tokens, k):
    """Proposes nothing."""
    return []


def test_accept_greedy_hand_cases():
    """Full match → k+1 tokens; first-token mismatch → the correction only; empty draft → one token."""
    assert impl.accept_greedy([4, 5, 6], [4, 5, 6, 7]) == [4, 5, 6, 7]
    assert impl.accept_greedy([4, 5, 6], [9, 5, 6, 7]) == [9]
    assert impl.accept_greedy([4, 5, 6], [4, 8, 6, 7]) == [4, 8]
    assert impl.accept_greedy([], [3]) == [3]


@pytest.mark.parametrize("propose", [perfect, always_wrong, corrupted, silent])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_speculative_equals_greedy(propose, k: int):
    """Whatever the drafter, speculative greedy output equals plain greedy output token for token."""
    prompt = [1, 2, 3]
    expected, _ = impl.greedy_generate(toy_model, prompt, 23)
    got, calls = impl.speculative_generate(toy_model, propose, prompt, 23, k)
    assert got == expected
    assert calls <= 23


@pytest.mark.parametrize("k", [1, 2, 4, 7])
def test_perfect_drafts_cut_target_calls(k: int):
    """With a perfect drafter the loop needs ceil(max_new / (k + 1)) target calls."""
    _, calls = impl.speculative_generate(toy_model, perfect, [2, 7], 30, k)
    assert calls == math.ceil(30 / (k + 1))
