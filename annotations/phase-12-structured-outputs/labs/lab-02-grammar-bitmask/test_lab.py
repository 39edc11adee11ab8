"""Lab 12.02 tests: bitmask unpacking inverts an independent packer; masking and empty-row errors."""

from __future__ import annotations

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)


def pack(allowed: torch.Tensor) -> torch.Tensor:
    """Reference packer: token t sets bit t % 32 of int32 word t // 32 (two's complement)."""
    rows, vocab = allowed.shape
    words = (vocab + 31) // 32
    out = torch.zeros(rows, words, dtype=torch.int64)
    for r in range(rows):
        for t in torch.nonzero(allowed[r]).flatten().tolist():
            out[r, t // 32] |= 1 << (t % 32)
    out = torch.where(out >= 2**31, out - 2**32, out)
    return out.to(torch.int32)


@pytest.mark.parametrize("vocab", [32, 70, 100])
def test_unpack_inverts_pack(vocab: int):
    """Random masks, including bit 31 (negative words) and a ragged last word, round-trip exactly."""
    g = torch.Generator().manual_seed(vocab)
    allowed = torch.rand(4, vocab, generator=g) < 0.5
    allowed[0, 31] = True
    bitmask = pack(allowed)
    assert (bitmask < 0).any()
    assert torch.equal(impl.unpack_bitmask(bitmask, vocab), allowed)


def test_apply_masks_forbidden_logits_only():
    """Allowed logits keep their values; forbidden ones are -inf; an all-ones row is unconstrained."""
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 40, generator=g)
    allowed = torch.rand(3, 40, generator=g) < 0.3
    allowed[:, 0] = True
    allowed[2] = True
    out = impl.apply_grammar_bitmask(logits, pack(allowed))
    assert torch.equal(out[allowed], logits[allowed])
    assert torch.isneginf(out[~allowed]).all()
    assert torch.equal(out[2], logits[2])


def test_row_without_allowed_tokens_raises():
    """A row whose mask allows nothing is an engine error naming that row."""
    allowed = torch.ones(3, 40, dtype=torch.bool)
    allowed[1] = False
    with pytest.raises(RuntimeError, match=r"\[1\]"):
        impl.apply_grammar_bitmask(torch.zeros(3, 40), pack(allowed))
