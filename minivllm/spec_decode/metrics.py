"""How well speculation pays: drafts proposed, tokens accepted, passes saved."""

from __future__ import annotations

from dataclasses import dataclass, replace


# upstream: vllm/v1/spec_decode/metrics.py:18 — SpecDecodingStats
@dataclass(frozen=True)
class SpecDecodingStats:
    """Totals over a run; ``observe_draft`` returns an updated copy.

    Attributes:
        num_drafts: Verification passes that carried at least one draft token.
        num_draft_tokens: Draft tokens proposed (and verified).
        num_accepted_tokens: Draft tokens the rejection sampler kept.
    """

    num_drafts: int = 0
    num_draft_tokens: int = 0
    num_accepted_tokens: int = 0

    # upstream: vllm/v1/spec_decode/metrics.py:39 — SpecDecodingStats.observe_draft()
    def observe_draft(self, num_draft_tokens: int, num_accepted_tokens: int) -> SpecDecodingStats:
        """Add one request's verification outcome."""
        if not 0 <= num_accepted_tokens <= num_draft_tokens:
            raise ValueError(f"accepted {num_accepted_tokens} of {num_draft_tokens} draft tokens")
        return replace(
            self,
            num_drafts=self.num_drafts + 1,
            num_draft_tokens=self.num_draft_tokens + num_draft_tokens,
            num_accepted_tokens=self.num_accepted_tokens + num_accepted_tokens,
        )

    @property
    def acceptance_rate(self) -> float:
        """Fraction of draft tokens kept (0 when nothing was proposed)."""
        return self.num_accepted_tokens / self.num_draft_tokens if self.num_draft_tokens else 0.0

    @property
    def mean_accepted_length(self) -> float:
        """Tokens emitted per verification pass: accepted drafts plus the model's own token."""
        return 1 + self.num_accepted_tokens / self.num_drafts if self.num_drafts else 1.0
