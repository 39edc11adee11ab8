"""Lab 12.01 tests: per-step token masks equal a brute-force `re` oracle; masked decoding matches."""

from __future__ import annotations

import itertools
import re

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

CASES = [
    ("(ab|c)+d?", "abcd", ["a", "b", "c", "d", "ab", "ca", "bd", "dd", "abc", "x", ""]),
    (r"-?\d+(\.\d+)?", "-1.2", ["-", "1", "2", ".", "12", "1.", ".2", "--", "2-", "a"]),
]
MAX_LEN = 7


def viable_prefixes(pattern: str, alphabet: str) -> tuple[set[str], set[str]]:
    """All full matches up to MAX_LEN over the alphabet, and all their prefixes."""
    matches = {
        "".join(chars)
        for n in range(MAX_LEN + 1)
        for chars in itertools.product(alphabet, repeat=n)
        if re.fullmatch(pattern, "".join(chars))
    }
    return matches, {m[:i] for m in matches for i in range(len(m) + 1)}


@pytest.mark.parametrize("pattern,alphabet,vocab", CASES)
def test_mask_equals_brute_force(pattern: str, alphabet: str, vocab: list[str]):
    """After every prefix of up to 4 chars, the mask equals the `re` oracle (EOS iff full match)."""
    nfa = impl.compile_regex(pattern)
    matches, prefixes = viable_prefixes(pattern, alphabet)
    checked = 0
    for prefix in sorted(p for p in prefixes if len(p) <= 4):
        state = impl.advance(nfa, impl.start_state(nfa), prefix)
        mask = impl.token_mask(nfa, state, vocab).tolist()
        expected = [bool(t) and (prefix + t) in prefixes for t in vocab] + [prefix in matches]
        assert mask == expected, prefix
        checked += 1
    assert checked > 10


def test_dead_prefix_has_dead_state():
    """A prefix no match can start with leads to the empty (dead) state."""
    nfa = impl.compile_regex("(ab|c)+d?")
    assert impl.advance(nfa, impl.start_state(nfa), "ca") != frozenset()
    assert impl.advance(nfa, impl.start_state(nfa), "cb") == frozenset()


def test_apply_mask_keeps_allowed_and_forbids_rest():
    """Allowed logits are unchanged; forbidden ones become -inf."""
    logits = torch.tensor([1.0, -2.0, 3.0, 0.5])
    out = impl.apply_mask(logits, torch.tensor([True, False, True, False]))
    assert out.tolist() == [1.0, float("-inf"), 3.0, float("-inf")]
    assert logits.tolist() == [1.0, -2.0, 3.0, 0.5]


@pytest.mark.parametrize("pattern,alphabet,vocab", CASES)
@pytest.mark.parametrize("seed", range(4))
def test_constrained_greedy_output_matches(pattern: str, alphabet: str, vocab: list[str], seed: int):
    """With random logits, the output is a full match when EOS ends it, else completable in 2 chars."""
    nfa = impl.compile_regex(pattern)
    g = torch.Generator().manual_seed(seed)
    logits_fn = lambda tokens: torch.randn(len(vocab) + 1, generator=g)  # noqa: E731
    out = impl.constrained_greedy(logits_fn, nfa, vocab, max_tokens=6)
    eos = len(vocab)
    text = "".join(vocab[t] for t in out if t != eos)
    assert all(t == eos or vocab[t] for t in out)
    if out and out[-1] == eos:
        assert re.fullmatch(pattern, text)
    else:
        assert len(out) == 6
        completions = ["".join(c) for n in range(3) for c in itertools.product(alphabet, repeat=n)]
        assert any(re.fullmatch(pattern, text + c) for c in completions), text
