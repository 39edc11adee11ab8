"""Lab 13.01: make room for an image in the prompt, then put its embeddings there.

A vision-language model sees an image as a run of "image tokens" whose embeddings come from a
vision encoder instead of the embedding table. The prompt the user sends holds one placeholder
token per image; the processor expands it into as many tokens as the encoder will produce
(which depends on the image's size), and records where each run sits. At run time the text
embeddings are computed for the whole prompt and the placeholder rows are overwritten with the
encoder's output. With chunked prefill a step may cover only part of a prompt, so the scheduler
must know which images overlap the tokens it schedules, and run the encoder for exactly those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PlaceholderRange:
    """Where one image's tokens sit in the expanded prompt."""

    offset: int
    length: int


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def num_image_tokens(height: int, width: int, patch: int, merge: int = 1) -> int:
    """Tokens an image becomes: one per ``patch``-pixel square, ``merge x merge`` squares per token."""
    rows, cols = _cdiv(height, patch), _cdiv(width, patch)
    return _cdiv(rows, merge) * _cdiv(cols, merge)


def expand_placeholders(
    prompt: Sequence[int], image_token_id: int, sizes: Sequence[int]
) -> tuple[list[int], list[PlaceholderRange]]:
    """Replace the i-th image token by ``sizes[i]`` copies; return the prompt and the ranges."""
    count = sum(1 for t in prompt if t == image_token_id)
    if count != len(sizes):
        raise ValueError(f"prompt has {count} image tokens but {len(sizes)} images were given")
    out: list[int] = []
    ranges: list[PlaceholderRange] = []
    for token in prompt:
        if token == image_token_id:
            n = sizes[len(ranges)]
            ranges.append(PlaceholderRange(len(out), n))
            out.extend([image_token_id] * n)
        else:
            out.append(token)
    return out, ranges


def merge_multimodal_embeddings(
    input_ids: torch.Tensor,
    text_embeds: torch.Tensor,
    mm_embeds: torch.Tensor,
    placeholder_id: int,
) -> torch.Tensor:
    """Text embeddings with the placeholder rows replaced, in order, by ``mm_embeds``."""
    positions = torch.nonzero(input_ids == placeholder_id).flatten()
    if len(positions) != mm_embeds.shape[0]:
        raise ValueError(
            f"{len(positions)} placeholder tokens but {mm_embeds.shape[0]} multimodal embeddings"
        )
    merged = text_embeds.clone()
    merged[positions] = mm_embeds.to(merged.dtype)
    return merged


def images_to_encode(
    ranges: Sequence[PlaceholderRange], start: int, num_tokens: int, encoded: set[int]
) -> list[int]:
    """Images whose tokens overlap ``[start, start + num_tokens)`` and are not encoded yet."""
    end = start + num_tokens
    return [
        i
        for i, r in enumerate(ranges)
        if i not in encoded and r.offset < end and start < r.offset + r.length
    ]
