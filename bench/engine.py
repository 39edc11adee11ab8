"""minivllm vs transformers ``generate()``: throughput, prefix sharing, KV memory, MFU.

Both engines run in this one process, on the same random ~19M-parameter
Llama checkpoint and the same seeded workload, with the same thread count.

    python bench/engine.py            # the full workload of issue 6
    python bench/engine.py --quick    # a smaller one (about a minute)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minivllm import LLM, SamplingParams  # noqa: E402
from minivllm.config import ModelConfig  # noqa: E402
from minivllm.core.kv_cache_utils import cdiv  # noqa: E402
from minivllm.sampling_params import RequestOutputKind  # noqa: E402

BLOCK = 16
CHECKPOINT = dict(
    vocab_size=8192, hidden_size=384, intermediate_size=1024, num_hidden_layers=8,
    num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=1024,
    tie_word_embeddings=False, bos_token_id=None, eos_token_id=None, pad_token_id=0,
)


@dataclass(frozen=True)
class Workload:
    """Seeded requests: prompt token ids and the number of tokens to generate."""

    prompts: list[list[int]]
    out_lens: list[int]


@dataclass(frozen=True)
class Run:
    """What one engine did on one workload."""

    seconds: float
    cpu_seconds: float
    output_tokens: int
    kv_bytes: int
    extra: dict


def build_checkpoint(path: Path) -> Path:
    """Write a random Llama checkpoint (seeded) with transformers' save_pretrained."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(**CHECKPOINT)).float().save_pretrained(path)
    return path


def make_workload(n: int, prompt_range: tuple[int, int], out_range: tuple[int, int], seed: int) -> Workload:
    """``n`` random prompts and output lengths, uniform in the given ranges."""
    rng = random.Random(seed)
    prompts = [[rng.randrange(1, CHECKPOINT["vocab_size"]) for _ in range(rng.randint(*prompt_range))] for _ in range(n)]
    return Workload(prompts, [rng.randint(*out_range) for _ in range(n)])


def matmul_peak_gflops() -> float:
    """Best fp32 GEMM rate of this machine at the current thread count, per CPU-second.

    Timed with process CPU time, like the MFU figures, so that time the
    process spends descheduled on a busy machine counts for neither.
    """
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(10):
            a @ b
        best = min(best, time.process_time() - start)
    return 2 * 1024**3 * 10 / best / 1e9


def workload_flops(cfg: ModelConfig, w: Workload) -> float:
    """Model FLOPs of the useful work: every token fed once, logits only where sampled."""
    per_layer = 2 * cfg.hidden_size * (cfg.num_attention_heads + 2 * cfg.num_key_value_heads) * cfg.head_dim
    per_layer += 2 * cfg.num_attention_heads * cfg.head_dim * cfg.hidden_size
    per_layer += 2 * 3 * cfg.hidden_size * cfg.intermediate_size
    body = cfg.num_hidden_layers * per_layer
    head = 2 * cfg.hidden_size * cfg.vocab_size
    attn = 4 * cfg.num_hidden_layers * cfg.num_attention_heads * cfg.head_dim
    total = 0.0
    for p, o in zip(w.prompts, w.out_lens):
        n = len(p) + o - 1  # the last sampled token is never fed back
        total += n * body + o * head + attn * n * (n + 1) / 2
    return total


def run_minivllm(model_dir: Path, w: Workload, **engine_kwargs: object) -> Run:
    """Submit everything at once, step until done; record peak KV use and TTFTs."""
    llm = LLM(model_dir, **engine_kwargs)
    engine = llm.llm_engine
    llm.generate([[1, 2, 3]], SamplingParams(temperature=0, max_tokens=4))  # warm-up
    base_computed = engine.scheduler.num_prompt_tokens_computed
    pool = engine.scheduler.kv_cache_manager.block_pool
    start, cpu_start = time.perf_counter(), time.process_time()
    for p, o in zip(w.prompts, w.out_lens):
        engine.add_request(p, SamplingParams(temperature=0, max_tokens=o, ignore_eos=True,
                                             output_kind=RequestOutputKind.FINAL_ONLY))
    finals, peak_used, peak_running = [], 0, 0
    while engine.has_unfinished_requests():
        finals += engine.step()
        peak_used = max(peak_used, pool.num_blocks - 1 - pool.get_num_free_blocks())
        peak_running = max(peak_running, len(engine.scheduler.running))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    block_bytes = engine.model_runner.kv_cache_bytes // pool.num_blocks
    ttft = [o.metrics.first_token_time - o.metrics.arrival_time for o in finals]
    return Run(seconds, cpu, sum(len(o.outputs[0].token_ids) for o in finals), engine.model_runner.kv_cache_bytes, {
        "peak_kv_bytes": peak_used * block_bytes, "peak_running": peak_running,
        "prompt_tokens_computed": engine.scheduler.num_prompt_tokens_computed - base_computed,
        "ttft_mean": statistics.mean(ttft), "ttft_median": statistics.median(ttft),
        "preemptions": sum(o.metrics.num_preemptions for o in finals),
    })


def run_hf(model_dir: Path, w: Workload, batch: int = 16) -> Run:
    """transformers generate() in static, left-padded batches of ``batch`` requests."""
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    model.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=4, do_sample=False)  # warm-up
    peak, useful = 0, 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(0, len(w.prompts), batch):
        prompts, outs = w.prompts[i : i + batch], w.out_lens[i : i + batch]
        width = max(map(len, prompts))
        ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
        mask = (torch.arange(width)[None] >= torch.tensor([[width - len(p)] for p in prompts])).long()
        with torch.no_grad():
            out = model.generate(ids, attention_mask=mask, max_new_tokens=max(outs), min_new_tokens=max(outs),
                                 do_sample=False, pad_token_id=0, return_dict_in_generate=True)
        cache = out.past_key_values
        peak = max(peak, sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values)))
        useful += sum(outs)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return Run(seconds, cpu, useful, peak, {"peak_running": batch})


def prefix_workload(n: int, shared: int, unique: int, out: int, seed: int) -> Workload:
    """``n`` prompts made of one shared prefix and a unique suffix each."""
    rng = random.Random(seed)
    prefix = [rng.randrange(1, CHECKPOINT["vocab_size"]) for _ in range(shared)]
    prompts = [prefix + [rng.randrange(1, CHECKPOINT["vocab_size"]) for _ in range(unique)] for _ in range(n)]
    return Workload(prompts, [out] * n)


def pool_for(w: Workload) -> int:
    """Blocks for every request of ``w`` in flight at once (so no preemption), at least one full sequence."""
    need = 1 + sum(cdiv(len(p) + o, BLOCK) for p, o in zip(w.prompts, w.out_lens))
    return max(need, cdiv(1024, BLOCK) + 1)


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def report_throughput(model_dir: Path, w: Workload, peak: float, engine_kwargs: dict) -> None:
    """Throughput, MFU and KV memory of both engines on the same workload."""
    cfg = ModelConfig.from_dir(model_dir)
    ours = run_minivllm(model_dir, w, **engine_kwargs)
    theirs = run_hf(model_dir, w)
    flops = workload_flops(cfg, w)
    print(f"\n== throughput: {len(w.prompts)} requests, prompts {min(map(len, w.prompts))}-"
          f"{max(map(len, w.prompts))}, outputs {min(w.out_lens)}-{max(w.out_lens)} tokens ==")
    for name, run in (("minivllm", ours), ("transformers (static batches of 16)", theirs)):
        mfu = flops / run.cpu_seconds / (peak * 1e9)
        print(f"{name:36s} {run.output_tokens / run.seconds:7.1f} output tok/s "
              f"({run.output_tokens} tokens in {run.seconds:.1f} s wall, {run.cpu_seconds:.1f} s CPU)  MFU {mfu:.1%}")
    print(f"speed-up: {theirs.seconds / ours.seconds:.2f}x wall, {theirs.cpu_seconds / ours.cpu_seconds:.2f}x CPU time"
          f"  (preemptions in minivllm: {ours.extra['preemptions']})")
    print("\n== KV memory, same workload ==")
    for name, run, peak_bytes in (("minivllm", ours, ours.extra["peak_kv_bytes"]),
                                  ("transformers DynamicCache", theirs, theirs.kv_bytes)):
        n = run.extra["peak_running"]
        print(f"{name:26s} peak {mib(peak_bytes):>10s} for {n:2d} requests in flight = "
              f"{mib(peak_bytes / n)} per request")
    print(f"minivllm pool reserved for this run: {mib(ours.kv_bytes)} (sized so that nothing is preempted)")


def report_prefix(model_dir: Path, w: Workload, engine_kwargs: dict) -> None:
    """Prompt tokens computed and TTFT with and without prefix caching."""
    total = sum(map(len, w.prompts))
    print(f"\n== prefix sharing: {len(w.prompts)} requests, {len(w.prompts[0])}-token prompts sharing a prefix ==")
    for caching in (False, True):
        run = run_minivllm(model_dir, w, **{**engine_kwargs, "enable_prefix_caching": caching})
        computed = run.extra["prompt_tokens_computed"]
        print(f"prefix caching {'on ' if caching else 'off'}: prefill tokens computed {computed}/{total} "
              f"({computed / total:.1%}); TTFT mean {run.extra['ttft_mean'] * 1e3:.0f} ms, "
              f"median {run.extra['ttft_median'] * 1e3:.0f} ms; wall {run.seconds:.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workload")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--model-dir", type=Path, help="reuse a checkpoint instead of building one")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tmp = tempfile.TemporaryDirectory()
    model_dir = args.model_dir or build_checkpoint(Path(tmp.name) / "llama-19m")
    if args.quick:
        w, pw = make_workload(16, (32, 128), (16, 64), 0), prefix_workload(32, 256, 32, 4, 1)
    else:
        w, pw = make_workload(64, (32, 512), (16, 256), 0), prefix_workload(32, 256, 32, 16, 1)
    kwargs = dict(block_size=BLOCK, max_num_seqs=64, max_num_batched_tokens=512, max_model_len=1024)
    peak = matmul_peak_gflops()
    params = sum(t.numel() for t in load_file(str(model_dir / "model.safetensors")).values())
    print(f"model: random Llama, {params / 1e6:.1f}M parameters, float32; threads {args.threads}; "
          f"load average {os.getloadavg()[0]:.1f}; measured fp32 matmul peak {peak:.1f} GFLOP/s")
    print("(CPU time is reported beside wall time: on a shared machine it is the steadier figure;"
          " MFU = useful model FLOPs / CPU time / peak)")
    report_throughput(model_dir, w, peak, {**kwargs, "num_kv_blocks": pool_for(w)})
    report_prefix(model_dir, pw, {**kwargs, "num_kv_blocks": pool_for(pw)})
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
