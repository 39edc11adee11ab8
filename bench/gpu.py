"""minivllm on a CUDA GPU vs transformers' best modes, on a random ~1.2B-parameter Llama in bfloat16.

Both engines run in this one process on the same checkpoint and the same seeded
workload of mixed-length requests (every request generates exactly its own
number of tokens; EOS is ignored). Peers:

* transformers continuous batching (``init_continuous_batching`` with per-request
  ``max_new_tokens``: its paged cache, its scheduler, its CUDA graphs);
* transformers static cache + ``torch.compile`` (``generate`` on left-padded batches
  sorted by output length, so a batch decodes to a length close to each row's own). It runs
  in a process of its own, after the others: in one process with minivllm's CUDA graphs,
  inductor's graphs ended in an illegal memory access on the H200 (not investigated).

Each figure is the median of ``--repeats`` runs (min-max beside it), after one
warm-up run of each engine; the engines alternate. Also printed: the Triton
decode kernel's bandwidth at long contexts (against the datasheet's 4.8 TB/s and
a measured device copy), and the engine's decode step with and without CUDA graphs.

    python bench/gpu.py                      # everything (about 8 minutes on an H200)
    python bench/gpu.py --skip-static        # without the torch.compile peer
    python bench/gpu.py --only static        # the torch.compile peer alone (it runs in its own process)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minivllm import LLM, SamplingParams  # noqa: E402

DATASHEET_BW = 4.8e12
CHECKPOINT = dict(  # Llama-3.2-1B's shape, random weights
    vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
    num_attention_heads=32, num_key_value_heads=8, head_dim=64, max_position_embeddings=2048,
    rope_theta=500000.0, tie_word_embeddings=True, bos_token_id=None, eos_token_id=None, pad_token_id=0,
)


def build_checkpoint(path: Path) -> None:
    """Random bf16 weights, built on the GPU and written with save_pretrained."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    with torch.device("cuda"):
        model = LlamaForCausalLM(LlamaConfig(**CHECKPOINT)).to(torch.bfloat16)
    model.save_pretrained(path)
    del model
    torch.cuda.empty_cache()


def workload(n: int, seed: int = 0) -> tuple[list[list[int]], list[int]]:
    """``n`` prompts of 16-512 tokens (log-uniform) and outputs of 16-256 tokens."""
    rng = random.Random(seed)
    lens = [int(16 * 32 ** rng.random()) for _ in range(n)]
    prompts = [[rng.randrange(10, CHECKPOINT["vocab_size"]) for _ in range(k)] for k in lens]
    return prompts, [rng.randrange(16, 257) for _ in range(n)]


def summary(xs: list[float], fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"


def timed(fn: Callable[[], dict]) -> dict:
    """Run ``fn`` with the peak-memory counter reset; add wall seconds and peak GiB."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = fn()
    torch.cuda.synchronize()
    result["seconds"] = time.perf_counter() - start
    result["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return result


def run_minivllm(llm: LLM, prompts: list[list[int]], outs: list[int]) -> dict:
    """Stream the workload; per request, time per output token after its first."""
    params = [SamplingParams(temperature=0, max_tokens=m, ignore_eos=True, detokenize=False) for m in outs]
    first: dict[str, float] = {}
    count: dict[str, int] = {}
    tpot = []
    for out in llm.stream(prompts, params):
        now = time.perf_counter()
        first.setdefault(out.request_id, now)
        count[out.request_id] = count.get(out.request_id, 0) + len(out.outputs[0].token_ids)
        if out.finished and count[out.request_id] > 1:
            tpot.append((now - first[out.request_id]) / (count[out.request_id] - 1))
    return {"tokens": sum(count.values()), "tpot": statistics.median(tpot)}


def run_hf_cb(model, prompts: list[list[int]], outs: list[int]) -> dict:
    """transformers continuous batching, each request with its own max_new_tokens."""
    from transformers import GenerationConfig

    config = GenerationConfig(do_sample=False, eos_token_id=None, pad_token_id=0, max_new_tokens=max(outs))
    manager = model.init_continuous_batching(generation_config=config)
    manager.start()
    ids = [manager.add_request(p, request_id=f"r{i}", max_new_tokens=m, record_timestamps=True)
           for i, (p, m) in enumerate(zip(prompts, outs))]
    results = {}
    while len(results) < len(ids):
        res = manager.get_result(timeout=60)
        if res is None:
            raise RuntimeError("transformers continuous batching stopped early")
        if res.is_finished():
            results[res.request_id] = res
    manager.stop(block=True)
    tpot = [(r.timestamps[-1] - r.timestamps[0]) / (len(r.timestamps) - 1)
            for r in results.values() if r.timestamps and len(r.timestamps) > 1]
    return {"tokens": sum(len(r.generated_tokens) for r in results.values()),
            "tpot": statistics.median(tpot) if tpot else float("nan")}


def run_hf_static(model, prompts: list[list[int]], outs: list[int], batch: int = 64) -> dict:
    """Static cache + compiled decode; batches of requests with similar output lengths."""
    order = sorted(range(len(prompts)), key=lambda i: outs[i])
    tokens, tpot = 0, []
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        width = max(len(prompts[i]) for i in rows)
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for j, i in enumerate(rows):
            ids[j, width - len(prompts[i]) :] = torch.tensor(prompts[i])
            mask[j, width - len(prompts[i]) :] = 1
        new = max(outs[i] for i in rows)
        t0 = time.perf_counter()
        model.generate(ids.cuda(), attention_mask=mask.cuda(), max_new_tokens=new, min_new_tokens=new,
                       do_sample=False, cache_implementation="static", pad_token_id=0, eos_token_id=None)
        torch.cuda.synchronize()
        tpot += [(time.perf_counter() - t0) / new] * len(rows)
        tokens += sum(outs[i] for i in rows)  # useful tokens; padding rows' extra tokens are not counted
    return {"tokens": tokens, "tpot": statistics.median(tpot)}


def throughput(model_dir: Path, args: argparse.Namespace) -> None:
    """The three engines on one workload, alternating, median of repeats."""
    from transformers import LlamaForCausalLM

    prompts, outs = workload(args.requests)
    hf = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16).cuda().eval()
    if args.only == "static":  # alone in its process: inductor's CUDA graphs and ours did not share one well
        engines = {"hf-static+compile": lambda: run_hf_static(hf, prompts, outs)}
    else:
        llm = LLM(model_dir, device="cuda", max_num_seqs=256, max_num_batched_tokens=8192, max_model_len=1024,
                  enable_prefix_caching=False, gpu_memory_utilization=0.5)
        engines = {"minivllm": lambda: run_minivllm(llm, prompts, outs),
                   "hf-continuous-batching": lambda: run_hf_cb(hf, prompts, outs)}
    runs: dict[str, list[dict]] = {name: [] for name in engines}
    for name, fn in engines.items():
        try:
            print(f"warm-up {name}: {timed(fn)['seconds']:.1f} s", flush=True)
        except Exception as exc:  # a peer API that this transformers lacks: report, keep going
            print(f"warm-up {name} FAILED: {type(exc).__name__}: {exc}", flush=True)
            runs.pop(name)
    for i in range(args.repeats):
        for name in runs:
            runs[name].append(timed(engines[name]))
            r = runs[name][-1]
            print(f"run {i} {name}: {r['tokens'] / r['seconds']:.0f} tok/s", flush=True)
    print(f"\n{args.requests} requests, prompts 16-512, outputs 16-256 tokens "
          f"({sum(outs)} output tokens), bf16, load {os.getloadavg()}")
    print(f"{'engine':24} {'output tok/s':>22} {'median TPOT ms':>22} {'peak GiB':>10}")
    best = {}
    for name, rs in runs.items():
        tps = [r["tokens"] / r["seconds"] for r in rs]
        best[name] = statistics.median(tps)
        print(f"{name:24} {summary(tps):>22} {summary([r['tpot'] * 1e3 for r in rs], '{:.2f}'):>22} "
              f"{max(r['peak_gib'] for r in rs):>10.1f}")
    if "minivllm" in best:
        pool = llm.llm_engine.model_runner.kv_cache_bytes / 2**30
        print(f"(minivllm's peak includes its preallocated KV pool: {pool:.1f} GiB)")
        if "hf-continuous-batching" in best:
            print(f"minivllm / transformers continuous batching: {best['minivllm'] / best['hf-continuous-batching']:.2f}x")


def kernel_bandwidth() -> None:
    """Decode attention over scrambled paged blocks at long contexts, as bytes read per second."""
    import triton

    from minivllm.kernels.paged_attention import paged_attention

    src = torch.empty(2**30, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    copy_ms = triton.testing.do_bench(lambda: dst.copy_(src), warmup=25, rep=200, return_mode="median")
    copy_bw = 2 * src.numel() / (copy_ms * 1e-3)
    print(f"\ndevice copy: {copy_bw / 1e12:.2f} TB/s (read + write), datasheet {DATASHEET_BW / 1e12:.1f} TB/s")
    del src, dst
    heads, kv_heads, dim, bs = 32, 8, 64, 16
    print(f"{'batch x context':>16} {'us':>8} {'TB/s':>6} {'% of 4.8':>9} {'% of copy':>10}")
    for batch, ctx in [(64, 1024), (64, 4096), (32, 8192), (16, 16384), (256, 2048), (1, 32768)]:
        per_seq = ctx // bs
        cache = torch.randn(2, kv_heads, batch * per_seq + 1, bs, dim, device="cuda", dtype=torch.bfloat16)
        table = (torch.randperm(batch * per_seq, device="cuda") + 1).view(batch, per_seq).int()
        q = torch.randn(batch, heads, dim, device="cuda", dtype=torch.bfloat16)
        cu = torch.arange(batch + 1, device="cuda", dtype=torch.int32)
        lens = torch.full((batch,), ctx, device="cuda", dtype=torch.int32)
        ms = triton.testing.do_bench(lambda: paged_attention(q, cache, table, cu, lens, 1, dim**-0.5),
                                     warmup=25, rep=200, return_mode="median")
        moved = batch * ctx * kv_heads * dim * 2 * 2 + 2 * q.numel() * 2 + table.numel() * 4
        bw = moved / (ms * 1e-3)
        print(f"{batch:>6} x {ctx:<7} {ms * 1e3:>8.1f} {bw / 1e12:>6.2f} {100 * bw / DATASHEET_BW:>8.0f}% "
              f"{100 * bw / copy_bw:>9.0f}%")
        del cache


def decode_steps(model_dir: Path, repeats: int) -> None:
    """Engine time per decode step (schedule + forward + sample) at several batch sizes, eager vs graphs."""
    print(f"\n{'batch':>6} {'eager ms/step':>20} {'graphs ms/step':>20} {'speed-up':>9}")
    engines = {eager: LLM(model_dir, device="cuda", max_num_seqs=256, max_num_batched_tokens=8192,
                          max_model_len=1024, enforce_eager=eager, gpu_memory_utilization=0.3)
               for eager in (True, False)}
    rng = random.Random(1)
    for batch in (1, 8, 32, 128, 256):
        prompts = [[rng.randrange(10, 128000) for _ in range(64)] for _ in range(batch)]
        per_step = {True: [], False: []}
        for _ in range(repeats):
            for eager, llm in engines.items():
                t = []
                for n in (1, 65):
                    torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    llm.generate(prompts, SamplingParams(temperature=0, max_tokens=n, ignore_eos=True,
                                                         detokenize=False))
                    t.append(time.perf_counter() - t0)
                per_step[eager].append((t[1] - t[0]) / 64 * 1e3)
        e, g = statistics.median(per_step[True]), statistics.median(per_step[False])
        print(f"{batch:>6} {summary(per_step[True], '{:.2f}'):>20} {summary(per_step[False], '{:.2f}'):>20} "
              f"{e / g:>8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-static", action="store_true")
    parser.add_argument("--only", choices=["throughput", "static", "kernel", "graphs"], default=None)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench/gpu.py needs a CUDA device")
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, load {os.getloadavg()}")
    if args.only in (None, "kernel"):
        kernel_bandwidth()
    if args.only == "kernel":
        return
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "llama-1b-random"
        build_checkpoint(model_dir)
        if args.only in (None, "graphs"):
            decode_steps(model_dir, args.repeats)
        if args.only in (None, "throughput", "static"):
            throughput(model_dir, args)
    if args.only is None and not args.skip_static:
        cmd = [sys.executable, __file__, "--only", "static", "--requests", str(args.requests), "--repeats", str(args.repeats)]
        subprocess.run(cmd, check=False)


if __name__ == "__main__":
    main()
