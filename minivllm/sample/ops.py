"""Logit transforms and the random draw, each a batched tensor op over rows.

Every function takes ``[R, V]`` float32 logits with one row per request and
per-row parameters as ``[R]`` tensors, so a batch of requests with
different settings costs one call, not one per request.
"""

from __future__ import annotations

import torch


# upstream: vllm/model_executor/layers/utils.py:51 — apply_penalties()
def apply_penalties(
    logits: torch.Tensor,
    prompt_mask: torch.Tensor,
    output_counts: torch.Tensor,
    repetition: torch.Tensor,
    presence: torch.Tensor,
    frequency: torch.Tensor,
) -> torch.Tensor:
    """Discourage tokens the request has already seen.

    Args:
        logits: ``[R, V]``.
        prompt_mask: ``[R, V]`` True for tokens present in the prompt.
        output_counts: ``[R, V]`` occurrences of each token in the output.
        repetition: ``[R]`` factor (1 = off) for tokens in prompt or output;
            positive logits are divided by it and negative ones multiplied,
            so a penalty > 1 always lowers the token's probability.
        presence: ``[R]`` subtracted once from every generated token.
        frequency: ``[R]`` subtracted per occurrence in the output.

    Returns:
        The penalised logits (a new tensor).
    """
    seen = prompt_mask | (output_counts > 0)
    factor = torch.where(seen, repetition[:, None], torch.ones_like(logits))
    logits = torch.where(logits > 0, logits / factor, logits * factor)
    logits = logits - frequency[:, None] * output_counts
    return logits - presence[:, None] * (output_counts > 0).to(logits.dtype)


# upstream: vllm/v1/sample/sampler.py:223 — Sampler.apply_temperature()
def apply_temperature(logits: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
    """Divide each row by its temperature (greedy rows, temperature 0, by 1)."""
    safe = torch.where(temperature > 0, temperature, torch.ones_like(temperature))
    return logits / safe[:, None]


# upstream: vllm/v1/sample/logits_processor/builtin.py:101 — MinPLogitsProcessor.apply()
def apply_min_p(logits: torch.Tensor, min_p: torch.Tensor) -> torch.Tensor:
    """Drop tokens whose probability is below ``min_p`` times the row's best."""
    probs = logits.softmax(dim=-1)
    cutoff = probs.max(dim=-1, keepdim=True).values * min_p[:, None]
    return logits.masked_fill(probs < cutoff, float("-inf"))


# upstream: vllm/v1/sample/ops/topk_topp_sampler.py:328 — apply_top_k_top_p_pytorch()
def apply_top_k_top_p(
    logits: torch.Tensor, top_k: torch.Tensor | None, top_p: torch.Tensor | None
) -> torch.Tensor:
    """Mask everything outside each row's top-k and top-p (nucleus) set.

    One ascending sort serves both: top-k keeps the last k sorted entries;
    top-p drops the leading entries whose cumulative probability stays
    within ``1 - p``. The most likely token always survives.

    Args:
        logits: ``[R, V]``.
        top_k: ``[R]`` ints, 0 meaning no limit; or None for no row limited.
        top_p: ``[R]`` in (0, 1], 1 meaning no limit; or None.
    """
    if top_k is None and top_p is None:
        return logits
    vocab = logits.shape[-1]
    sorted_logits, order = logits.sort(dim=-1)
    if top_k is not None:
        k = torch.where(top_k > 0, top_k, vocab).clamp(1, vocab)
        kth = sorted_logits.gather(1, (vocab - k).long()[:, None])
        sorted_logits = sorted_logits.masked_fill(sorted_logits < kth, float("-inf"))
    if top_p is not None:
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        drop = cumulative <= (1 - top_p)[:, None]
        drop[:, -1] = False
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
    return torch.empty_like(logits).scatter_(1, order, sorted_logits)


# upstream: vllm/v1/sample/ops/topk_topp_sampler.py:395 — random_sample()
def random_sample(
    probs: torch.Tensor, generators: dict[int, torch.Generator], default: torch.Generator
) -> torch.Tensor:
    """Draw one token per row: ``argmax(probs / E)`` with ``E ~ Exp(1)``.

    This "exponential race" picks token i with probability ``probs[i]``
    without a cumulative sum, and lets each seeded row draw its noise from
    its own generator, so its tokens do not depend on its batch neighbours.
    """
    noise = torch.empty_like(probs).exponential_(generator=default)
    for row, gen in generators.items():
        noise[row].exponential_(generator=gen)
    return probs.div(noise).argmax(dim=-1)
