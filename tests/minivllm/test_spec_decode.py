"""N-gram speculative decoding: drafting, verification bookkeeping, statistics."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from scipy.stats import chisquare

from minivllm import LLM, SamplingParams
from minivllm.spec_decode.metadata import SpecDecodeMetadata
from minivllm.spec_decode.metrics import SpecDecodingStats
from minivllm.spec_decode.ngram_proposer import NgramProposer, find_draft


@pytest.mark.parametrize(
    ("tokens", "min_n", "max_n", "k", "expected"),
    [
        # The suffix "7 8" recurs; what followed it is proposed.
        ([7, 8, 9, 10, 11, 5, 7, 8], 1, 3, 3, [9, 10, 11]),
        # No suffix recurs: nothing to propose.
        ([1, 2, 3, 4], 1, 3, 3, []),
        # A short loop keeps copying past the current end (period 2).
        ([1, 2, 1, 2, 1, 2], 1, 2, 5, [1, 2, 1, 2, 1]),
        # Longer matches win over a more recent shorter one: "3 4" occurs at 2 and 6,
        # but "2 3 4" only at 1; the 3-gram's continuation (5) is chosen over 9.
        ([1, 2, 3, 4, 5, 0, 3, 4, 9, 2, 3, 4], 1, 3, 1, [5]),
        # Among equally long matches the most recent wins.
        ([5, 1, 6, 5, 1, 7, 5, 1], 2, 2, 1, [7]),
        # A match shorter than min_n does not count.
        ([1, 9, 8, 1], 2, 3, 2, []),
    ],
)
def test_find_draft(tokens: list[int], min_n: int, max_n: int, k: int, expected: list[int]) -> None:
    """The longest (then most recent) earlier match of the suffix supplies the draft."""
    assert find_draft(tokens, min_n, max_n, k) == expected


def test_proposer_respects_caps() -> None:
    """Drafts are cut to k, to the caller's cap and to the room left under max_model_len."""
    loop = [1, 2, 3] * 4
    proposer = NgramProposer(num_speculative_tokens=4, prompt_lookup_min=1, prompt_lookup_max=3, max_model_len=15)
    drafts = proposer.propose([loop, loop, loop[:6]], max_drafts=[10, 2, 10])
    assert drafts == [[1, 2], [1, 2], [1, 2, 3, 1]]


def test_proposer_rejects_bad_config() -> None:
    """Inverted n-gram bounds are refused at construction."""
    with pytest.raises(ValueError, match="prompt_lookup_min"):
        NgramProposer(3, prompt_lookup_min=4, prompt_lookup_max=2, max_model_len=64)


def test_metadata_rows() -> None:
    """Each request's k drafts and its bonus occupy k + 1 consecutive logits rows."""
    # Request 0: 5 prefill tokens ending at row 5, no drafts; request 1: 1 + 2 rows ending at 8.
    md = SpecDecodeMetadata.from_drafts([[], [11, 12]], end_rows=[5, 8])
    assert md.logits_indices.tolist() == [4, 5, 6, 7]
    assert md.target_logits_indices.tolist() == [1, 2]
    assert md.bonus_logits_indices.tolist() == [0, 3]
    assert md.draft_token_ids.tolist() == [11, 12]
    assert md.request_of_draft.tolist() == [1, 1]


def test_stats_accumulate() -> None:
    """Acceptance rate and tokens per pass follow from the observed drafts."""
    stats = SpecDecodingStats().observe_draft(4, 3).observe_draft(4, 1)
    assert stats.acceptance_rate == pytest.approx(0.5)
    assert stats.mean_accepted_length == pytest.approx(3.0)
    with pytest.raises(ValueError):
        stats.observe_draft(2, 3)


def test_metadata_empty_batch_shapes() -> None:
    """A batch where nobody drafts still yields one bonus row per request."""
    md = SpecDecodeMetadata.from_drafts([[], []], end_rows=[1, 2])
    assert md.draft_token_ids.shape == torch.Size([0])
    assert md.bonus_logits_indices.tolist() == [0, 1]


# --- end to end -------------------------------------------------------------------------

ALPHA = 0.01
"""Significance level of the statistical test below."""

NGRAM = {"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_min": 1, "prompt_lookup_max": 3}


def _repetitive_prompts() -> list[list[int]]:
    """Prompts that repeat a phrase (drafts get proposed) mixed with plain random ones."""
    import random

    rng = random.Random(0)
    prompts = []
    for i in range(12):
        phrase = [rng.randrange(3, 320) for _ in range(rng.randrange(3, 12))]
        prompts.append(phrase * rng.randrange(2, 5) if i % 3 else phrase + phrase[:2])
    return prompts


def _squeezed(model_dir: Path, **extra: object) -> LLM:
    """Small pool (preemption), small budget (chunked prefill), prefix caching on."""
    return LLM(model_dir, block_size=4, num_kv_blocks=40, max_model_len=112,
               max_num_batched_tokens=16, max_num_seqs=12, **extra)


def test_greedy_output_is_identical_with_speculation(tiny_llama_dir: Path) -> None:
    """Greedy tokens and log-probs are the same with n-gram drafts as without, under preemption and chunking."""
    params = SamplingParams(temperature=0, max_tokens=40, ignore_eos=True, logprobs=2)
    prompts = _repetitive_prompts()
    plain = _squeezed(tiny_llama_dir).generate(prompts, params)
    spec_llm = _squeezed(tiny_llama_dir, speculative_config=NGRAM)
    spec = spec_llm.generate(prompts, params)
    for a, b in zip(plain, spec):
        assert a.outputs[0].token_ids == b.outputs[0].token_ids
        for la, lb in zip(a.outputs[0].logprobs, b.outputs[0].logprobs):
            assert la.keys() == lb.keys()
            assert all(abs(la[t].logprob - lb[t].logprob) < 1e-4 and la[t].rank == lb[t].rank for t in la)
    stats = spec_llm.llm_engine.spec_decoding_stats
    assert 0 < stats.num_accepted_tokens < stats.num_draft_tokens, "both acceptance and rejection exercised"
    assert any(o.metrics.num_preemptions for o in spec), "the pool was small enough to preempt"


def test_speculation_saves_passes_on_repetitive_text(tiny_llama_dir: Path) -> None:
    """When the model copies its prompt, drafts are accepted and forward passes drop."""
    prompt = list(range(40, 70)) * 3
    params = SamplingParams(temperature=0, max_tokens=30, ignore_eos=True)
    plain_llm = LLM(tiny_llama_dir, block_size=4, max_model_len=200)
    spec_llm = LLM(tiny_llama_dir, block_size=4, max_model_len=200, speculative_config=NGRAM)
    (a,), (b,) = plain_llm.generate([prompt], params), spec_llm.generate([prompt], params)
    assert a.outputs[0].token_ids == b.outputs[0].token_ids
    stats = spec_llm.llm_engine.spec_decoding_stats
    assert spec_llm.llm_engine.num_steps < plain_llm.llm_engine.num_steps
    assert stats.mean_accepted_length > 1.0


def _exact_two_token_distribution(hf_model, prompt: list[int], top_k: int) -> dict[tuple[int, int], float]:
    """P(t1, t2) under top-k sampling at temperature 1, from transformers' logits."""
    import torch

    def truncated(tokens: list[int]) -> dict[int, float]:
        with torch.no_grad():
            logits = hf_model(torch.tensor([tokens])).logits[0, -1]
        top = logits.topk(top_k)
        return dict(zip(top.indices.tolist(), top.values.softmax(-1).tolist()))

    first = truncated(prompt)
    return {(t1, t2): p1 * p2 for t1, p1 in first.items() for t2, p2 in truncated(prompt + [t1]).items()}


def test_random_sampling_keeps_the_target_distribution(tiny_llama_dir: Path, hf_model) -> None:
    """Through the whole engine, (t1, t2) with drafts follows the exact top-k target (chi-square, ALPHA)."""
    import random

    top_k, n = 3, 1500
    # A prompt holding each likely first token, so that a draft is proposed after it.
    for seed in range(100):
        prompt = random.Random(seed).sample(range(3, 320), 150)
        exact = _exact_two_token_distribution(hf_model, prompt, top_k)
        if all(t1 in prompt for t1, _ in exact):
            break
    llm = LLM(tiny_llama_dir, block_size=16, max_model_len=256, max_num_seqs=n,
              max_num_batched_tokens=8192, speculative_config=NGRAM)
    params = SamplingParams(temperature=1.0, top_k=top_k, max_tokens=3, ignore_eos=True, n=n, seed=0)
    (out,) = llm.generate([prompt], params)
    pairs = [c.token_ids[:2] for c in out.outputs]
    stats = llm.llm_engine.spec_decoding_stats
    assert stats.num_drafts >= n, "every sample verified drafts"
    keys = sorted(exact)
    observed = [sum(1 for p in pairs if p == k) for k in keys]
    assert sum(observed) == n, "every sampled pair lies in the top-k support"
    expected = [exact[k] * n for k in keys]
    assert chisquare(observed, expected).pvalue > ALPHA


def test_stops_inside_accepted_drafts_match_plain_decoding(tiny_llama_dir: Path) -> None:
    """A stop token or max_tokens reached midway through accepted drafts ends the output at the same token."""
    prompt = list(range(40, 70)) * 3
    plain_llm = LLM(tiny_llama_dir, block_size=4, max_model_len=200)
    spec_llm = LLM(tiny_llama_dir, block_size=4, max_model_len=200, speculative_config=NGRAM)
    (free,) = plain_llm.generate([prompt], SamplingParams(temperature=0, max_tokens=30, ignore_eos=True))
    stop = free.outputs[0].token_ids[13]
    for params in (
        SamplingParams(temperature=0, max_tokens=30, ignore_eos=True, stop_token_ids=[stop]),
        SamplingParams(temperature=0, max_tokens=11, ignore_eos=True),
    ):
        (a,), (b,) = plain_llm.generate([prompt], params), spec_llm.generate([prompt], params)
        assert a.outputs[0].token_ids == b.outputs[0].token_ids
        assert a.outputs[0].finish_reason == b.outputs[0].finish_reason


def test_stream_with_speculation_adds_up(tiny_llama_dir: Path) -> None:
    """Streaming deltas (several tokens per step when drafts are accepted) add up to the final output."""
    prompt = list(range(40, 70)) * 3
    llm = LLM(tiny_llama_dir, block_size=4, max_model_len=200, speculative_config=NGRAM)
    params = SamplingParams(temperature=0, max_tokens=25, ignore_eos=True)
    deltas = [out.outputs[0].token_ids for out in llm.stream([prompt], params)]
    (final,) = llm.generate([prompt], params)
    assert sum(deltas, ()) == final.outputs[0].token_ids
    assert max(len(d) for d in deltas) > 1, "some step emitted several tokens"
