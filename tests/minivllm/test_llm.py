"""Tests for minivllm.llm: end-to-end equivalence with transformers' generate()."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from minivllm import LLM, SamplingParams

EOS = 2


def _prompts() -> list[list[int]]:
    """16 prompts of 3–70 tokens; most share one of two prefixes (one block-aligned, one not)."""
    rng = random.Random(0)
    shared_a = [rng.randrange(3, 320) for _ in range(24)]
    shared_b = [rng.randrange(3, 320) for _ in range(10)]
    prompts = []
    for i in range(16):
        tail = [rng.randrange(3, 320) for _ in range(rng.randrange(1, 46))]
        prefix = (shared_a, shared_b, [])[i % 3]
        prompts.append(prefix + tail)
    prompts[5] = shared_a[:]  # a prompt that is exactly a cached prefix
    return prompts


def _hf_greedy(hf_model, prompt: list[int], max_tokens: int) -> list[int]:
    with torch.no_grad():
        out = hf_model.generate(
            torch.tensor([prompt]), max_new_tokens=max_tokens, do_sample=False,
            eos_token_id=EOS, pad_token_id=0,
        )
    return out[0, len(prompt):].tolist()


@pytest.fixture(scope="module")
def squeezed(tiny_llama_dir: Path) -> LLM:
    """An engine squeezed hard: 29 blocks of 4 tokens, 16-token steps, prefix caching on."""
    return LLM(
        tiny_llama_dir,
        block_size=4,
        num_kv_blocks=29,
        max_model_len=112,
        max_num_batched_tokens=16,
        max_num_seqs=16,
        enable_prefix_caching=True,
    )


def test_greedy_batch_matches_transformers_per_prompt(squeezed: LLM, hf_model) -> None:
    """16 prompts batched with preemption, chunked prefill and prefix hits equal HF greedy, alone."""
    prompts = _prompts()
    max_tokens = [8 + (7 * i) % 25 for i in range(16)]
    params = [SamplingParams(temperature=0, max_tokens=m) for m in max_tokens]
    outs = squeezed.generate(prompts, params)
    for prompt, m, out in zip(prompts, max_tokens, outs):
        assert list(out.outputs[0].token_ids) == _hf_greedy(hf_model, prompt, m), prompt
    sched = squeezed.llm_engine.scheduler
    assert max(len(p) for p in prompts) > 16, "chunked prefill was not exercised"
    assert sum(o.metrics.num_preemptions for o in outs) > 0, "preemption was not exercised"
    assert sum(o.num_cached_tokens for o in outs) > 0 and sched.num_prompt_tokens_cached > 0
    assert sched.kv_cache_manager.block_pool.get_num_free_blocks() == 28


def test_finish_reasons_and_eos(squeezed: LLM) -> None:
    """Outputs end with EOS and reason "stop", or run to max_tokens with reason "length"."""
    outs = squeezed.generate(_prompts(), SamplingParams(temperature=0, max_tokens=20))
    for out in outs:
        c = out.outputs[0]
        if c.finish_reason == "stop":
            assert c.token_ids[-1] == EOS
        else:
            assert c.finish_reason == "length" and len(c.token_ids) == 20


def test_stream_deltas_add_up_to_generate(squeezed: LLM) -> None:
    """Concatenated streaming deltas equal generate()'s output; each request finishes once."""
    prompts = ["Hello there", "a", "The quick brown fox"]
    params = SamplingParams(temperature=0, max_tokens=12)
    full = squeezed.generate(prompts, params)
    tokens: dict[str, list[int]] = {}
    texts: dict[str, str] = {}
    finished: list[str] = []
    for delta in squeezed.stream(prompts, params):
        tokens.setdefault(delta.request_id, []).extend(delta.outputs[0].token_ids)
        texts[delta.request_id] = texts.get(delta.request_id, "") + delta.outputs[0].text
        if delta.finished:
            finished.append(delta.request_id)
    assert len(finished) == len(set(finished)) == 3
    by_order = [tokens[rid] for rid in sorted(tokens, key=int)]
    assert by_order == [list(o.outputs[0].token_ids) for o in full]
    assert [texts[rid] for rid in sorted(texts, key=int)] == [o.outputs[0].text for o in full]


def test_abandoned_stream_aborts_its_requests(squeezed: LLM) -> None:
    """Leaving a stream early aborts what it started and frees every block."""
    stream = squeezed.stream(["abc", "defgh"], SamplingParams(temperature=0, max_tokens=50, ignore_eos=True))
    next(stream)
    stream.close()
    engine = squeezed.llm_engine
    assert not engine.has_unfinished_requests()
    assert engine.scheduler.kv_cache_manager.block_pool.get_num_free_blocks() == 28


def test_seeded_sampling_does_not_depend_on_batch(squeezed: LLM) -> None:
    """A seeded request yields the same tokens alone and batched with unseeded ones."""
    target = SamplingParams(temperature=1.0, top_p=0.9, seed=42, max_tokens=10, ignore_eos=True)
    alone = squeezed.generate([[5, 6, 7, 8, 9]], target)[0].outputs[0].token_ids
    noise = SamplingParams(temperature=1.0, max_tokens=10)
    batched = squeezed.generate([[3, 4], [5, 6, 7, 8, 9], [10, 11, 12]], [noise, target, noise])
    assert batched[1].outputs[0].token_ids == alone


def test_first_token_logprobs_match_transformers(squeezed: LLM, hf_model) -> None:
    """Returned log-probs are the model's log-softmax (within 1e-4), top-k ordered by rank."""
    prompt = [17, 4, 99, 250, 31]
    out = squeezed.generate([prompt], SamplingParams(temperature=0, max_tokens=1, logprobs=3))[0]
    (entry,) = out.outputs[0].logprobs
    with torch.no_grad():
        ref = hf_model(torch.tensor([prompt])).logits[0, -1].log_softmax(-1)
    top = ref.topk(3)
    assert sorted(entry, key=lambda t: entry[t].rank)[:3] == top.indices.tolist()
    for token, lp in entry.items():
        assert abs(lp.logprob - float(ref[token])) < 1e-4


def test_text_prompts_use_the_byte_tokenizer(squeezed: LLM) -> None:
    """A text prompt is encoded byte by byte and reported back with its ids."""
    out = squeezed.generate("hi", SamplingParams(temperature=0, max_tokens=2))[0]
    assert out.prompt == "hi" and out.prompt_token_ids == (104, 105)


def test_params_must_align_with_prompts(squeezed: LLM) -> None:
    """A params list of the wrong length is rejected before anything runs."""
    with pytest.raises(ValueError, match="sampling params"):
        squeezed.generate(["a", "b"], [SamplingParams()])
    with pytest.raises(ValueError, match="vocabulary"):
        squeezed.generate([[1, 2, 3], [1, 999]])
    assert not squeezed.llm_engine.has_unfinished_requests()
