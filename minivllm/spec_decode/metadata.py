"""Where each request's draft-verifying and bonus rows sit in a verification pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


# upstream: vllm/v1/spec_decode/metadata.py:10 — SpecDecodeMetadata
@dataclass(frozen=True)
class SpecDecodeMetadata:
    """Row bookkeeping for one step that verifies drafts.

    A request with ``k`` drafts is scheduled as its last sampled token plus
    the ``k`` drafts; the hidden state of each of these ``k + 1`` tokens
    predicts the token after it. The first ``k`` predictions verify the
    drafts; the last one (the *bonus* row) supplies a free extra token when
    every draft is accepted. A request without drafts has only a bonus row.

    Attributes:
        draft_token_ids: ``[N]`` all drafts, request after request.
        num_draft_tokens: Drafts per request (``k_i``, possibly 0).
        logits_indices: ``[N + B]`` rows of the flattened batch whose hidden
            states become logits, ``k_i + 1`` consecutive rows per request.
        target_logits_indices: ``[N]`` rows of those logits verifying each draft.
        bonus_logits_indices: ``[B]`` rows of those logits for the bonus tokens.
    """

    draft_token_ids: torch.Tensor
    num_draft_tokens: tuple[int, ...]
    logits_indices: torch.Tensor
    target_logits_indices: torch.Tensor
    bonus_logits_indices: torch.Tensor

    @classmethod
    def from_drafts(cls, drafts: Sequence[Sequence[int]], end_rows: Sequence[int]) -> SpecDecodeMetadata:
        """Build the indices from each request's drafts and batch end row.

        Args:
            drafts: Per request, the drafts scheduled this step.
            end_rows: Per request, one past its last row in the flattened
                batch (its drafts are the rows just before that).
        """
        num = [len(d) for d in drafts]
        logits_rows: list[int] = []
        target: list[int] = []
        bonus: list[int] = []
        for k, end in zip(num, end_rows):
            first = len(logits_rows)
            logits_rows.extend(range(end - k - 1, end))
            target.extend(range(first, first + k))
            bonus.append(first + k)
        return cls(
            draft_token_ids=torch.tensor([t for d in drafts for t in d], dtype=torch.long),
            num_draft_tokens=tuple(num),
            logits_indices=torch.tensor(logits_rows, dtype=torch.long),
            target_logits_indices=torch.tensor(target, dtype=torch.long),
            bonus_logits_indices=torch.tensor(bonus, dtype=torch.long),
        )

    @property
    def request_of_draft(self) -> torch.Tensor:
        """``[N]`` index of the request each draft belongs to."""
        counts = torch.tensor(self.num_draft_tokens, dtype=torch.long)
        return torch.repeat_interleave(torch.arange(len(counts)), counts)
