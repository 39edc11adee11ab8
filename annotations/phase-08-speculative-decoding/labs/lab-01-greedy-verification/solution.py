"""Lab 08.01: draft k tokens cheaply, verify them in one target pass, keep the agreeing prefix.

A target model's forward pass over ``n`` known tokens yields a next-token prediction at each of
the ``n`` positions, for roughly the cost of one decode step when ``n`` is small (decode is
memory-bound). Speculative decoding exploits that: guess ``k`` tokens, run the target once on
``tokens + guesses``, and accept guesses as long as they match what the target itself would
have produced. With greedy decoding the output is provably identical to plain decoding — every
emitted token is a target prediction — while each pass emits between 1 and ``k + 1`` tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Model = Callable[[Sequence[int]], list[int]]
"""``model(tokens)[i]`` is the target's greedy next token after ``tokens[: i + 1]``."""
Proposer = Callable[[Sequence[int], int], list[int]]
"""``propose(tokens, k)`` returns up to ``k`` guessed next tokens (possibly none)."""


def greedy_generate(model: Model, prompt: Sequence[int], max_new: int) -> tuple[list[int], int]:
    """Plain decoding: one target call per new token. Returns (new tokens, target calls)."""
    tokens = list(prompt)
    for _ in range(max_new):
        tokens.append(model(tokens)[-1])
    return tokens[len(prompt) :], max_new


def accept_greedy(draft: Sequence[int], target_preds: Sequence[int]) -> list[int]:
    """Tokens emitted for one verified draft: the matching prefix plus one target token.

    Args:
        draft: The ``k`` guessed tokens.
        target_preds: ``k + 1`` target predictions: after the context, and after each draft token.

    Returns:
        Between 1 and ``k + 1`` tokens, all of them target predictions.
    """
    emitted: list[int] = []
    for guess, truth in zip(draft, target_preds):
        if guess != truth:
            break
        emitted.append(guess)
    emitted.append(target_preds[len(emitted)])
    return emitted


def speculative_generate(
    model: Model, propose: Proposer, prompt: Sequence[int], max_new: int, k: int
) -> tuple[list[int], int]:
    """Speculative greedy decoding. Returns (new tokens, target calls)."""
    tokens = list(prompt)
    calls = 0
    while len(tokens) - len(prompt) < max_new:
        draft = propose(tokens, k)[:k]
        preds = model(tokens + draft)
        calls += 1
        emitted = accept_greedy(draft, preds[len(tokens) - 1 :])
        room = max_new - (len(tokens) - len(prompt))
        tokens.extend(emitted[:room])
    return tokens[len(prompt) :], calls
