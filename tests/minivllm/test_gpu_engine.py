"""The engine on CUDA: the CPU suite's equivalence checks, run on the GPU (``-m gpu``).

float32 runs must give transformers' greedy tokens exactly, under the same
pressure the CPU tests apply (preemption, chunked prefill, prefix hits,
n-gram speculation, multi-LoRA); CUDA-graph replay must give the eager
tokens; bfloat16 must keep the float32 log-probs within a stated tolerance.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest
import torch

from minivllm import LLM, SamplingParams

pytestmark = pytest.mark.gpu

EOS = 2
# Largest |log p(bf16 engine) - log p(fp32 transformers)| accepted over the top-20 tokens of a
# prompt's first step, on the tiny random checkpoint (2 layers, 0.2-scale weights).
BF16_LOGPROB_TOL = 0.15


@pytest.fixture(autouse=True)
def _cuda() -> None:
    if not torch.cuda.is_available():
        pytest.fail("marked gpu but no CUDA device")


def prompts(n: int = 16, seed: int = 0) -> list[list[int]]:
    """Prompts of 1-70 tokens, most sharing one of two prefixes (one block-aligned, one not)."""
    rng = random.Random(seed)
    shared = ([rng.randrange(3, 320) for _ in range(24)], [rng.randrange(3, 320) for _ in range(10)], [])
    return [shared[i % 3] + [rng.randrange(3, 320) for _ in range(rng.randrange(1, 46))] for i in range(n)]


def hf_greedy(model, prompt: list[int], max_tokens: int, eos: int | None = EOS) -> list[int]:
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt]), max_new_tokens=max_tokens, do_sample=False,
                             eos_token_id=eos, pad_token_id=0)
    return out[0, len(prompt):].tolist()


def squeezed(model_dir: Path, **extra) -> LLM:
    """29 blocks of 4 tokens and 16-token steps: preemption, chunked prefill and prefix hits all happen."""
    args = dict(device="cuda", dtype=torch.float32, block_size=4, num_kv_blocks=29, max_model_len=112,
                max_num_batched_tokens=16, max_num_seqs=16, enable_prefix_caching=True)
    return LLM(model_dir, **{**args, **extra})


def tokens(outs) -> list[list[int]]:
    return [list(o.outputs[0].token_ids) for o in outs]


@pytest.mark.parametrize("eager", [True, False], ids=["eager", "graphs"])
def test_fp32_greedy_matches_transformers_under_pressure(tiny_llama_dir: Path, hf_model, eager: bool) -> None:
    """16 prompts with preemption, chunked prefill and prefix hits give HF's greedy tokens, eager or graphed."""
    llm = squeezed(tiny_llama_dir, enforce_eager=eager)
    ps = prompts()
    max_tokens = [8 + (7 * i) % 25 for i in range(16)]
    outs = llm.generate(ps, [SamplingParams(temperature=0, max_tokens=m) for m in max_tokens])
    for p, m, got in zip(ps, max_tokens, tokens(outs)):
        assert got == hf_greedy(hf_model, p, m), p
    assert sum(o.metrics.num_preemptions for o in outs) > 0, "preemption was not exercised"
    assert sum(o.num_cached_tokens for o in outs) > 0, "no prefix-cache hit"
    graphs = llm.llm_engine.model_runner.graphs
    assert (graphs is None) == eager
    if not eager:
        assert graphs.num_replays > 0, "no decode step went through a CUDA graph"


def test_graph_replay_equals_eager_in_bf16(tiny_llama_dir: Path) -> None:
    """bf16 decode through padded CUDA graphs gives exactly the eager engine's tokens and log-probs."""
    ps = prompts(24, seed=3)
    params = SamplingParams(temperature=0, max_tokens=20, ignore_eos=True, logprobs=3)
    runs = []
    for eager in (True, False):
        llm = LLM(tiny_llama_dir, device="cuda", block_size=16, max_model_len=128, max_num_seqs=24,
                  enforce_eager=eager)
        outs = llm.generate(ps, params)
        runs.append((tokens(outs), [o.outputs[0].logprobs for o in outs]))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        for pa, pb in zip(a, b):
            assert pa.keys() == pb.keys()
            assert all(pa[t].logprob == pytest.approx(pb[t].logprob, abs=1e-6) for t in pa)


def test_bf16_logprobs_within_tolerance(tiny_llama_dir: Path, hf_model) -> None:
    """Weights and KV in bf16 by default on CUDA; first-step log-probs stay within BF16_LOGPROB_TOL of fp32 HF."""
    llm = LLM(tiny_llama_dir, device="cuda", block_size=16, max_model_len=128)
    runner = llm.llm_engine.model_runner
    assert runner.kv_caches[0].dtype == torch.bfloat16 and runner.kv_caches[0].is_cuda
    assert all(p.is_cuda and p.dtype == torch.bfloat16 for p in runner.model.parameters())
    ps = prompts(12, seed=1)
    outs = llm.generate(ps, SamplingParams(temperature=0, max_tokens=1, logprobs=20))
    worst = 0.0
    for p, out in zip(ps, outs):
        with torch.no_grad():
            ref = hf_model(torch.tensor([p])).logits[0, -1].log_softmax(-1)
        for t, lp in out.outputs[0].logprobs[0].items():
            worst = max(worst, abs(lp.logprob - float(ref[t])))
    print(f"bf16 worst first-step logprob error: {worst:.4f} (tolerance {BF16_LOGPROB_TOL})")
    assert worst < BF16_LOGPROB_TOL


def test_ngram_speculation_keeps_greedy_output(tiny_llama_dir: Path, hf_model) -> None:
    """With n-gram drafts verified on the GPU, greedy output is still transformers'; drafts are both kept and rejected."""
    rng = random.Random(0)
    ps = []
    for i in range(12):
        phrase = [rng.randrange(3, 320) for _ in range(rng.randrange(3, 12))]
        ps.append(phrase * rng.randrange(2, 5) if i % 3 else phrase + phrase[:2])
    ngram = {"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_min": 1, "prompt_lookup_max": 3}
    llm = squeezed(tiny_llama_dir, num_kv_blocks=40, max_num_seqs=12, speculative_config=ngram)
    outs = llm.generate(ps, SamplingParams(temperature=0, max_tokens=40, ignore_eos=True))
    for p, got in zip(ps, tokens(outs)):
        assert got == hf_greedy(hf_model, p, 40, eos=None)
    stats = llm.llm_engine.spec_decoding_stats
    assert 0 < stats.num_accepted_tokens < stats.num_draft_tokens
    assert any(o.metrics.num_preemptions for o in outs), "the pool was small enough to preempt"


def test_seeded_sampling_does_not_depend_on_batch(tiny_llama_dir: Path) -> None:
    """A seeded request draws from its own CUDA generator: same tokens alone and batched."""
    llm = squeezed(tiny_llama_dir)
    target = SamplingParams(temperature=1.0, top_p=0.9, seed=42, max_tokens=10, ignore_eos=True)
    alone = llm.generate([[5, 6, 7, 8, 9]], target)[0].outputs[0].token_ids
    noise = SamplingParams(temperature=1.0, max_tokens=10)
    batched = llm.generate([[3, 4], [5, 6, 7, 8, 9], [10, 11, 12]], [noise, target, noise])
    assert batched[1].outputs[0].token_ids == alone


def test_multi_lora_matches_merged_models(tiny_llama_dir: Path, hf_model, tmp_path: Path) -> None:
    """Two PEFT adapters and the base model in one GPU batch equal each merged model's greedy output."""
    from peft import LoraConfig, get_peft_model

    from minivllm import LoRARequest

    merged = {}
    for i, targets in enumerate((["q_proj", "v_proj", "down_proj"], ["k_proj", "gate_proj", "o_proj"]), start=1):
        torch.manual_seed(50 + i)
        peft_model = get_peft_model(copy.deepcopy(hf_model), LoraConfig(r=4, lora_alpha=8, target_modules=targets,
                                                                       init_lora_weights=False))
        with torch.no_grad():
            for name, param in peft_model.named_parameters():
                if "lora_" in name:
                    param.mul_(4.0)
        peft_model.save_pretrained(tmp_path / f"a{i}")
        merged[i] = (LoRARequest(f"a{i}", i, str(tmp_path / f"a{i}")), peft_model.merge_and_unload().eval())
    llm = LLM(tiny_llama_dir, device="cuda", dtype=torch.float32, block_size=4, max_model_len=96,
              enable_lora=True, max_loras=2, max_lora_rank=8, max_num_batched_tokens=32)
    ps = [[9, 41, 77, 200, 13, 5, i, i + 1] for i in range(3, 9)]
    which = [1, 2, None, 1, None, 2]
    loras = [merged[w][0] if w else None for w in which]
    outs = llm.generate(ps, SamplingParams(temperature=0, max_tokens=10, ignore_eos=True), lora_request=loras)
    for p, w, got in zip(ps, which, tokens(outs)):
        assert got == hf_greedy(merged[w][1] if w else hf_model, p, 10, eos=None), w


def test_structured_output_mask_applied_on_device(tiny_llama_dir: Path) -> None:
    """Random sampling under a regex on CUDA: every output matches (the mask ran on the GPU's logits)."""
    import re

    pytest.importorskip("xgrammar", reason="carry the xgrammar wheel to the GPU machine")
    from minivllm import StructuredOutputsParams

    llm = LLM(tiny_llama_dir, device="cuda", block_size=16, max_model_len=256)
    pattern = r"[a-f]{3}-[0-9]{2,4}"
    params = [SamplingParams(temperature=1.0, seed=i, max_tokens=40,
                             structured_outputs=StructuredOutputsParams(regex=pattern)) for i in range(8)]
    for out in llm.generate([[5, 6, 7]] * 8, params):
        assert re.fullmatch(pattern, out.outputs[0].text), out.outputs[0].text


def test_kv_pool_follows_gpu_memory_utilization(tiny_llama_dir: Path) -> None:
    """The KV budget grows by the extra share of device memory allowed (to within what others allocate meanwhile)."""
    from minivllm.config import ModelConfig, cuda_kv_cache_budget

    cfg = ModelConfig.from_dir(tiny_llama_dir)
    low = cuda_kv_cache_budget(cfg, torch.bfloat16, "cuda", 0.5, 512, 64)
    high = cuda_kv_cache_budget(cfg, torch.bfloat16, "cuda", 0.8, 512, 64)
    total = torch.cuda.mem_get_info()[1]
    assert abs((high - low) - 0.3 * total) < 64 << 20
    with pytest.raises(ValueError, match="gpu_memory_utilization"):
        cuda_kv_cache_budget(cfg, torch.bfloat16, "cuda", 1e-4, 512, 64)
