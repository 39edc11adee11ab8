"""From logits to one token per request: penalties, greedy or random, log-probs."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from minivllm.sample import ops
from minivllm.sample.metadata import SamplingMetadata


@dataclass(frozen=True)
class LogprobsTensors:
    """Log-probs of the sampled tokens and each row's top candidates.

    Attributes:
        topk_ids: ``[R, K]`` most likely token ids, best first.
        topk_logprobs: ``[R, K]`` their log-probs.
        sampled_logprobs: ``[R]`` log-prob of the token actually sampled.
        sampled_ranks: ``[R]`` its rank (1 = most likely).
    """

    topk_ids: torch.Tensor
    topk_logprobs: torch.Tensor
    sampled_logprobs: torch.Tensor
    sampled_ranks: torch.Tensor


# upstream: vllm/v1/outputs.py:185 — SamplerOutput
@dataclass(frozen=True)
class SamplerOutput:
    """``sampled_token_ids`` ``[R]`` and, when requested, the log-probs."""

    sampled_token_ids: torch.Tensor
    logprobs: LogprobsTensors | None


# upstream: vllm/v1/sample/sampler.py:20 — Sampler
class Sampler:
    """Applies every request's sampling parameters to a batch of logits at once.

    Log-probs are those of the model's raw distribution (before penalties,
    temperature and truncation), which is what users compare across runs.

    Args:
        seed: Seeds the generator shared by requests without their own seed.
        device: Where the logits (and so the generator's noise) live.
    """

    def __init__(self, seed: int = 0, device: torch.device | str = "cpu") -> None:
        self.generator = torch.Generator(device=device).manual_seed(seed)

    # upstream: vllm/v1/sample/sampler.py:67 — Sampler.forward()
    def __call__(self, logits: torch.Tensor, md: SamplingMetadata) -> SamplerOutput:
        """``[R, V]`` float32 logits → one token per row."""
        raw_logprobs = logits.log_softmax(dim=-1) if md.max_num_logprobs is not None else None
        logits = self.apply_penalties(logits, md)
        sampled = self.sample(logits, md)
        lp = None if raw_logprobs is None else gather_logprobs(raw_logprobs, md.max_num_logprobs or 0, sampled)
        return SamplerOutput(sampled, lp)

    # upstream: vllm/v1/sample/sampler.py:418 — Sampler.apply_penalties()
    def apply_penalties(self, logits: torch.Tensor, md: SamplingMetadata) -> torch.Tensor:
        """Block not-yet-allowed stop tokens, then apply repetition-type penalties."""
        if md.blocked_tokens is not None:
            logits = logits.masked_fill(md.blocked_tokens, float("-inf"))
        if md.output_counts is None or md.prompt_mask is None:
            return logits
        assert md.repetition_penalties is not None
        assert md.presence_penalties is not None and md.frequency_penalties is not None
        return ops.apply_penalties(
            logits,
            md.prompt_mask,
            md.output_counts,
            md.repetition_penalties,
            md.presence_penalties,
            md.frequency_penalties,
        )

    # upstream: vllm/v1/sample/sampler.py:238 — Sampler.sample()
    def sample(self, logits: torch.Tensor, md: SamplingMetadata) -> torch.Tensor:
        """Greedy rows take the argmax; the others draw from their truncated distribution."""
        greedy = logits.argmax(dim=-1)
        if md.all_greedy:
            return greedy
        drawn = ops.random_sample(self.truncate(logits, md).softmax(dim=-1), md.generators or {}, self.generator)
        return torch.where(md.temperature > 0, drawn, greedy)

    def truncate(self, logits: torch.Tensor, md: SamplingMetadata) -> torch.Tensor:
        """Temperature, min-p, top-k and top-p: what a random row's softmax is drawn from.

        Greedy rows are divided by 1 and the truncations always keep the top
        token, so their argmax is unchanged.
        """
        logits = ops.apply_temperature(logits, md.temperature)
        if md.min_p is not None:
            logits = ops.apply_min_p(logits, md.min_p)
        return ops.apply_top_k_top_p(logits, md.top_k, md.top_p)

    def process(self, logits: torch.Tensor, md: SamplingMetadata) -> torch.Tensor:
        """Everything ``sample`` does to a row except the draw.

        Speculative decoding needs the distribution itself: the rejection
        sampler compares its probability of each draft token with the
        proposer's.
        """
        logits = self.apply_penalties(logits, md)
        return logits if md.all_greedy else self.truncate(logits, md)


# upstream: vllm/v1/sample/sampler.py:304 — Sampler.gather_logprobs()
def gather_logprobs(logprobs: torch.Tensor, k: int, sampled: torch.Tensor) -> LogprobsTensors:
    """Top-``k`` log-probs per row plus the sampled token's log-prob and rank."""
    top_lp, top_ids = logprobs.topk(k, dim=-1)
    chosen = logprobs.gather(1, sampled[:, None])
    ranks = (logprobs > chosen).sum(dim=-1) + 1
    return LogprobsTensors(top_ids, top_lp, chosen.squeeze(1), ranks)
