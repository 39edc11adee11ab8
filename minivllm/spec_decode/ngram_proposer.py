"""Prompt-lookup drafting: copy what followed the last time the current suffix appeared.

No draft model at all: text that quotes its prompt, repeats a code block or
loops over a pattern is predicted by the text itself. The cost is a search
over the request's own tokens, negligible next to a forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def find_draft(tokens: Sequence[int], min_n: int, max_n: int, k: int) -> list[int]:
    """Up to ``k`` tokens predicted by the longest earlier match of the suffix.

    The suffix of length ``n`` (longest first, from ``max_n`` down to
    ``min_n``) is searched in the tokens before the last one; among equal
    lengths the most recent occurrence wins, as recent text predicts the
    near future best. The draft is the continuation of that occurrence. When
    the continuation runs into the suffix itself (a loop with a short
    period), it keeps copying from the draft built so far, so a repeating
    pattern yields all ``k`` tokens rather than stopping at the current end.

    Args:
        tokens: The request's tokens so far (prompt and output).
        min_n: Shortest suffix worth matching.
        max_n: Longest suffix tried.
        k: Tokens to propose.

    Returns:
        The draft; empty when no suffix of an allowed length recurs.
    """
    seq = np.asarray(tokens, dtype=np.int64)
    length = len(seq)
    for n in range(min(max_n, length - 1), min_n - 1, -1):
        windows = sliding_window_view(seq[: length - 1], n)
        hits = np.flatnonzero((windows == seq[length - n :]).all(axis=1))
        if hits.size:
            return _continue_from(seq.tolist(), int(hits[-1]) + n, k)
    return []


def _continue_from(tokens: list[int], start: int, k: int) -> list[int]:
    """Copy ``k`` tokens from ``start``, reading the draft itself past the end."""
    extended = list(tokens)
    for i in range(k):
        extended.append(extended[start + i])
    return extended[len(tokens) :]


# upstream: vllm/v1/spec_decode/ngram_proposer.py:12 — NgramProposer
class NgramProposer:
    """Proposes drafts for a batch of requests by prompt lookup.

    Args:
        num_speculative_tokens: ``k``, the most tokens proposed per request.
        prompt_lookup_min: Shortest suffix matched.
        prompt_lookup_max: Longest suffix matched.
        max_model_len: No draft may reach past this many tokens.
    """

    def __init__(
        self,
        num_speculative_tokens: int,
        prompt_lookup_min: int,
        prompt_lookup_max: int,
        max_model_len: int,
    ) -> None:
        if not 1 <= prompt_lookup_min <= prompt_lookup_max:
            raise ValueError(
                f"need 1 <= prompt_lookup_min <= prompt_lookup_max, got "
                f"{prompt_lookup_min} and {prompt_lookup_max}"
            )
        if num_speculative_tokens < 1:
            raise ValueError(f"num_speculative_tokens must be >= 1, got {num_speculative_tokens}")
        self.k = num_speculative_tokens
        self.min_n = prompt_lookup_min
        self.max_n = prompt_lookup_max
        self.max_model_len = max_model_len

    # upstream: vllm/v1/spec_decode/ngram_proposer.py:131 — NgramProposer.propose()
    def propose(self, token_ids: Sequence[Sequence[int]], max_drafts: Sequence[int]) -> list[list[int]]:
        """One draft per request.

        Args:
            token_ids: Each request's tokens so far.
            max_drafts: Per request, the most draft tokens still useful (the
                caller knows how many tokens the request may still emit).

        Returns:
            Drafts, possibly empty, at most ``min(k, max_drafts[i])`` long
            and never reaching past ``max_model_len``.
        """
        drafts = []
        for tokens, cap in zip(token_ids, max_drafts):
            k = min(self.k, cap, self.max_model_len - len(tokens) - 1)
            drafts.append(find_draft(tokens, self.min_n, self.max_n, k) if k > 0 else [])
        return drafts
