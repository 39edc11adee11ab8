"""Sliding-window attention (Mistral): greedy output equals transformers with the window on."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from minivllm import LLM, SamplingParams

from .conftest import TINY

WINDOW = 7


@pytest.fixture(scope="module")
def mistral_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random MistralForCausalLM whose window is much shorter than the sequences below."""
    from transformers import MistralConfig, MistralForCausalLM

    torch.manual_seed(99)
    cfg = MistralConfig(**TINY, sliding_window=WINDOW)
    path = tmp_path_factory.mktemp("tiny-mistral")
    MistralForCausalLM(cfg).float().eval().save_pretrained(path)
    return path


def _hf(path: Path, prompts: list[list[int]], max_tokens: int, window: int | None) -> list[list[int]]:
    from transformers import MistralForCausalLM

    model = MistralForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    model.config.sliding_window = window
    outs = []
    with torch.no_grad():
        for p in prompts:
            ids = model.generate(torch.tensor([p]), max_new_tokens=max_tokens, do_sample=False, eos_token_id=2, pad_token_id=0)
            outs.append(ids[0, len(p) :].tolist())
    return outs


def _prompts() -> list[list[int]]:
    rng = random.Random(5)
    shared = [rng.randrange(3, 320) for _ in range(12)]
    return [shared + [rng.randrange(3, 320) for _ in range(rng.randrange(1, 30))] for _ in range(6)]


def test_windowed_checkpoint_matches_transformers(mistral_dir: Path) -> None:
    """Chunked prefill, prefix hits and preemption with the window on: token-identical to HF."""
    prompts = _prompts()
    want = _hf(mistral_dir, prompts, 20, WINDOW)
    assert want != _hf(mistral_dir, prompts, 20, None), "the window must change the output"
    llm = LLM(mistral_dir, block_size=4, num_kv_blocks=40, max_model_len=96, max_num_batched_tokens=12, max_num_seqs=6)
    outs = llm.generate(prompts, SamplingParams(temperature=0, max_tokens=20))
    assert [list(o.outputs[0].token_ids) for o in outs] == want
    assert llm.llm_engine.scheduler.kv_cache_manager.sliding_window == WINDOW


def test_window_frees_blocks_so_a_small_pool_needs_no_preemption(mistral_dir: Path) -> None:
    """A pool too small for the sequences' full length runs them unpreempted: dead blocks are freed."""
    prompts = _prompts()[:2]
    want = _hf(mistral_dir, prompts, 40, WINDOW)
    llm = LLM(mistral_dir, block_size=4, num_kv_blocks=25, max_model_len=96, max_num_batched_tokens=64, max_num_seqs=2)
    outs = llm.generate(prompts, SamplingParams(temperature=0, max_tokens=40))
    assert [list(o.outputs[0].token_ids) for o in outs] == want
    assert sum(o.metrics.num_preemptions for o in outs) == 0
    assert sum(-(-(len(p) + 40) // 4) for p in prompts) > 24  # without freeing they would not fit together
