"""Tests for minivllm.model.llama: logits must match transformers on the same weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from minivllm.attention import build_attention_metadata
from minivllm.model.llama import LlamaForCausalLM
from minivllm.model.loader import load_model

BS = 4


def _logits_in_chunks(model: LlamaForCausalLM, ids: list[int], chunk: int) -> torch.Tensor:
    """Run a prompt through the paged model ``chunk`` tokens at a time; logits of every position."""
    cfg = model.config
    n_blocks = -(-len(ids) // BS)
    shape = (2, cfg.num_key_value_heads, n_blocks + 1, BS, cfg.head_dim)
    caches = [torch.zeros(shape) for _ in range(cfg.num_hidden_layers)]
    table = torch.arange(n_blocks, 0, -1)[None]  # blocks in reverse order: nothing contiguous
    out = []
    for start in range(0, len(ids), chunk):
        piece = ids[start : start + chunk]
        positions = torch.arange(start, start + len(piece))
        md = build_attention_metadata([len(piece)], [start + len(piece)], table, positions, BS)
        hidden = model(torch.tensor(piece), positions, caches, md)
        out.append(model.compute_logits(hidden))
    return torch.cat(out)


@pytest.fixture(scope="module")
def model(tiny_llama_dir: Path) -> LlamaForCausalLM:
    return load_model(tiny_llama_dir)


@pytest.mark.parametrize("length", [1, 3, 4, 17, 64])
def test_prefill_logits_match_transformers(model, hf_model, length: int) -> None:
    """Prefill logits at every position equal transformers' within 1e-4 (float32)."""
    ids = torch.randint(0, 320, (length,), generator=torch.Generator().manual_seed(length)).tolist()
    ours = _logits_in_chunks(model, ids, chunk=length)
    with torch.no_grad():
        ref = hf_model(torch.tensor([ids])).logits[0]
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-4)


@pytest.mark.parametrize("chunk", [1, 3, 8])
def test_chunked_prefill_equals_one_shot(model, hf_model, chunk: int) -> None:
    """Computing a prompt in chunks over the paged cache gives the same logits as at once."""
    ids = torch.randint(0, 320, (23,), generator=torch.Generator().manual_seed(7)).tolist()
    ours = _logits_in_chunks(model, ids, chunk=chunk)
    with torch.no_grad():
        ref = hf_model(torch.tensor([ids])).logits[0]
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-4)


def test_load_weights_rejects_unknown_tensor(model: LlamaForCausalLM) -> None:
    """A checkpoint tensor with no matching parameter is an error, not silently dropped."""
    with pytest.raises(ValueError, match="no matching parameter"):
        model.load_weights([("model.layers.0.self_attn.extra.weight", torch.zeros(1))])


def test_load_weights_rejects_shape_mismatch(model: LlamaForCausalLM) -> None:
    """A tensor of the wrong shape is refused with its name."""
    with pytest.raises(ValueError, match="model.norm.weight"):
        model.load_weights([("model.norm.weight", torch.zeros(3))])
