"""Shared fixtures: one tiny random Llama checkpoint, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

TINY = dict(
    vocab_size=320,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=256,
    # Wider than the default 0.02 so that top-2 logits are rarely within
    # float rounding of each other: greedy comparisons must not hinge on ties.
    initializer_range=0.2,
    bos_token_id=1,
    eos_token_id=2,
    tie_word_embeddings=False,
)


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    """Tiny matmuls gain nothing from threads, and the machine is shared."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random float32 LlamaForCausalLM saved with save_pretrained (no download)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(1234)
    model = LlamaForCausalLM(LlamaConfig(**TINY)).float().eval()
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def hf_model(tiny_llama_dir: Path):
    """The same checkpoint loaded by transformers, the reference implementation."""
    from transformers import LlamaForCausalLM

    return LlamaForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32).eval()
