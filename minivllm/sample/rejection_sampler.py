"""Accept or reject draft tokens so the output follows the target model exactly.

Speculative sampling (Leviathan et al., 2023; Chen et al., 2023): a draft
token ``d`` proposed with probability ``q(d)`` is kept with probability
``min(1, p(d) / q(d))`` where ``p`` is the target model's distribution at
that position. On rejection, a replacement is drawn from the leftover mass
``max(p - q, 0)`` (renormalised). Summed over both branches, the emitted
token is distributed exactly as ``p``; positions after the first rejection
are discarded, because their target distributions were conditioned on a
token that is no longer there.

An n-gram proposer is deterministic: ``q`` is all its mass on ``d``, so the
test reduces to "keep ``d`` with probability ``p(d)``" and the replacement is
drawn from ``p`` with ``d`` removed. Greedy requests keep ``d`` iff it is the
argmax, which makes their output identical to decoding without drafts.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _per_request_draws(
    out: torch.Tensor,
    request_of_row: torch.Tensor,
    generators: dict[int, torch.Generator],
    fill: str,
) -> torch.Tensor:
    """Redraw the rows of seeded requests from their own generators, in place.

    A seeded request must see the same random stream whatever else shares
    the batch, so its rows never consume the shared generator's numbers.
    """
    for req, gen in generators.items():
        rows = torch.nonzero(request_of_row == req).flatten()
        if len(rows):
            redraw = torch.empty((len(rows), *out.shape[1:]), dtype=out.dtype, device=out.device)
            getattr(redraw, fill)(generator=gen)
            out[rows] = redraw
    return out


# upstream: vllm/v1/sample/rejection_sampler.py:659 — sample_recovered_tokens()
def sample_recovered_tokens(
    target_probs: torch.Tensor,
    draft_token_ids: torch.Tensor,
    draft_probs: torch.Tensor | None,
    request_of_row: torch.Tensor,
    generators: dict[int, torch.Generator],
    default: torch.Generator,
) -> torch.Tensor:
    """One replacement token per draft position, from ``max(p - q, 0)``.

    Drawn for every position up front (one batched op); only the one at a
    request's first rejection is used.
    """
    if draft_probs is None:
        leftover = target_probs.scatter(1, draft_token_ids[:, None], 0.0)
    else:
        leftover = (target_probs - draft_probs).clamp_min(0.0)
    noise = torch.empty_like(leftover).exponential_(generator=default)
    _per_request_draws(noise, request_of_row, generators, "exponential_")
    return leftover.div(noise).argmax(dim=-1)


def _accepted_mask(
    target_logits: torch.Tensor,
    draft_token_ids: torch.Tensor,
    draft_probs: torch.Tensor | None,
    greedy_row: torch.Tensor,
    request_of_row: torch.Tensor,
    generators: dict[int, torch.Generator],
    default: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per draft position: whether the draft is kept, and the token used if not."""
    target_argmax = target_logits.argmax(dim=-1)
    greedy_ok = draft_token_ids == target_argmax
    if bool(greedy_row.all()):
        return greedy_ok, target_argmax
    probs = target_logits.softmax(dim=-1)
    p_draft = probs.gather(1, draft_token_ids[:, None]).squeeze(1)
    q_draft = (
        torch.ones_like(p_draft)
        if draft_probs is None
        else draft_probs.gather(1, draft_token_ids[:, None]).squeeze(1)
    )
    uniform = torch.empty_like(p_draft).uniform_(generator=default)
    _per_request_draws(uniform, request_of_row, generators, "uniform_")
    # u < p/q written without the division, which q = 0 would break.
    random_ok = uniform * q_draft < p_draft
    recovered = sample_recovered_tokens(
        probs, draft_token_ids, draft_probs, request_of_row, generators, default
    )
    accepted = torch.where(greedy_row, greedy_ok, random_ok)
    return accepted, torch.where(greedy_row, target_argmax, recovered)


# upstream: vllm/v1/sample/rejection_sampler.py:392 — rejection_sample()
def rejection_sample(
    draft_token_ids: torch.Tensor,
    num_draft_tokens: Sequence[int],
    target_logits: torch.Tensor,
    bonus_token_ids: torch.Tensor,
    is_greedy: torch.Tensor,
    generators: dict[int, torch.Generator],
    default: torch.Generator,
    draft_probs: torch.Tensor | None = None,
) -> list[list[int]]:
    """The tokens each request emits this step: kept drafts, then one more.

    Args:
        draft_token_ids: ``[N]`` drafts of all requests, request after request.
        num_draft_tokens: ``k_i`` per request (0 allowed).
        target_logits: ``[N, V]`` the target's logits at each draft position,
            already through penalties, temperature, top-k/top-p and min-p, so
            that ``softmax`` of a row is the distribution the request samples
            from. Greedy rows only need their argmax.
        bonus_token_ids: ``[B]`` token sampled from each request's bonus row.
        is_greedy: ``[B]`` True for requests that decode greedily.
        generators: Request index → its own generator (seeded requests).
        default: Generator for everything else.
        draft_probs: ``[N, V]`` the proposer's distributions, or None for a
            deterministic proposer (all mass on the draft token).

    Returns:
        Per request, ``j + 1`` tokens where ``j`` is the number of leading
        drafts accepted: the accepted drafts, then the replacement for the
        first rejected one, or the bonus token if none was rejected.
    """
    counts = torch.tensor(list(num_draft_tokens), dtype=torch.long)
    request_of_row = torch.repeat_interleave(torch.arange(len(counts)), counts)
    accepted, replacement = _accepted_mask(
        target_logits,
        draft_token_ids,
        draft_probs,
        is_greedy[request_of_row],
        request_of_row,
        generators,
        default,
    )
    return _assemble(draft_token_ids.tolist(), accepted.tolist(), replacement.tolist(),
                     list(num_draft_tokens), bonus_token_ids.tolist())


def _assemble(
    drafts: list[int], accepted: list[bool], replacement: list[int], counts: list[int], bonus: list[int]
) -> list[list[int]]:
    """Cut each request's drafts at its first rejection and append the extra token."""
    out: list[list[int]] = []
    start = 0
    for k, bonus_token in zip(counts, bonus):
        tokens: list[int] = []
        for i in range(start, start + k):
            if not accepted[i]:
                tokens.append(replacement[i])
                break
            tokens.append(drafts[i])
        else:
            tokens.append(bonus_token)
        out.append(tokens)
        start += k
    return out
