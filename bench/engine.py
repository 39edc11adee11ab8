"""minivllm vs transformers in its best modes: throughput, repeated, alternated, with the spread.

Peers, on the same random Llama checkpoint, float32, the same seeded workload and the same
thread count (each thread count in its own child process, ``OMP_NUM_THREADS`` set before torch
loads):

- transformers continuous batching (``init_continuous_batching``, the engine behind
  ``generate_batch``), each request with its own ``max_new_tokens``;
- transformers static batching: ``generate()`` over batches of requests sorted by output length
  (so rows of a batch need similar lengths), each row stopped at its own length by a
  per-row stopping criterion.

Every engine is built once and warmed up on the whole workload (untimed); then the engines
take turns, run after run, the starting engine rotating, so that load changes on this shared
machine hit all of them alike. Each figure is the median output tokens/s of ``--runs`` runs with
the min-max; the load average is printed before and after each configuration.

    python bench/engine.py                   # 19M and ~120M models, 1 and 2 threads, 5 runs
    python bench/engine.py --models 19M --threads 1 --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BASE = dict(tie_word_embeddings=False, bos_token_id=None, eos_token_id=None, pad_token_id=0, max_position_embeddings=1024)
MODELS = {
    "19M": dict(vocab_size=8192, hidden_size=384, intermediate_size=1024, num_hidden_layers=8,
                num_attention_heads=6, num_key_value_heads=2, **BASE),
    "120M": dict(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                 num_attention_heads=12, num_key_value_heads=4, **BASE),
}  # fmt: skip
# (requests, prompt length range, output length range) per model: mixed lengths, sized for a shared 2-core box
WORKLOADS = {"19M": (32, (32, 256), (16, 128)), "120M": (16, (16, 128), (8, 64))}
STATIC_BATCH = 16


@dataclass(frozen=True)
class Workload:
    """Seeded requests: prompt token ids and the number of tokens each must generate."""

    prompts: list[list[int]]
    out_lens: list[int]


def make_workload(model: str, seed: int = 0) -> Workload:
    """The model's workload: uniform random prompt and output lengths."""
    n, (p_lo, p_hi), (o_lo, o_hi) = WORKLOADS[model]
    rng = random.Random(seed)
    vocab = MODELS[model]["vocab_size"]
    prompts = [[rng.randrange(1, vocab) for _ in range(rng.randint(p_lo, p_hi))] for _ in range(n)]
    return Workload(prompts, [rng.randint(o_lo, o_hi) for _ in range(n)])


class Minivllm:
    """minivllm, every request submitted at once, greedy, exact output lengths."""

    name = "minivllm"

    def __init__(self, model_dir: Path) -> None:
        from minivllm import LLM

        self.llm = LLM(model_dir, block_size=16, max_num_seqs=64, max_num_batched_tokens=512, max_model_len=1024)

    def run(self, w: Workload) -> list[list[int]]:
        from minivllm import SamplingParams

        params = [SamplingParams(temperature=0, max_tokens=o, ignore_eos=True, detokenize=False) for o in w.out_lens]
        return [list(o.outputs[0].token_ids) for o in self.llm.generate(w.prompts, params)]


class HFContinuous:
    """transformers continuous batching; one manager reused, per-request ``max_new_tokens``."""

    name = "transformers continuous batching"

    def __init__(self, model_dir: Path) -> None:
        import torch
        from transformers import GenerationConfig, LlamaForCausalLM

        model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
        config = GenerationConfig(do_sample=False, max_new_tokens=1024, eos_token_id=-1, pad_token_id=0)
        self.manager = model.init_continuous_batching(generation_config=config)
        self.manager.start()

    def run(self, w: Workload) -> list[list[int]]:
        ids = [self.manager.add_request(p, max_new_tokens=o) for p, o in zip(w.prompts, w.out_lens)]
        done: dict[str, list[int]] = {}
        while len(done) < len(ids):
            result = self.manager.get_result(timeout=30)
            if result is None:
                raise RuntimeError("transformers continuous batching stalled")
            if result.is_finished():
                done[result.request_id] = list(result.generated_tokens)
        return [done[i] for i in ids]

    def close(self) -> None:
        self.manager.stop(block=True)


class HFStatic:
    """transformers ``generate()``: batches of length-sorted requests, each row stopped at its length."""

    name = f"transformers static (sorted batches of {STATIC_BATCH})"

    def __init__(self, model_dir: Path) -> None:
        import torch
        from transformers import LlamaForCausalLM

        self.torch = torch
        self.model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()

    def run(self, w: Workload) -> list[list[int]]:
        torch = self.torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        order = sorted(range(len(w.prompts)), key=lambda i: w.out_lens[i])
        result: dict[int, list[int]] = {}
        for lo in range(0, len(order), STATIC_BATCH):
            rows = order[lo : lo + STATIC_BATCH]
            width = max(len(w.prompts[i]) for i in rows)
            ids = torch.tensor([[0] * (width - len(w.prompts[i])) + w.prompts[i] for i in rows])
            mask = (ids != 0) | (torch.arange(width)[None] >= torch.tensor([[width - len(w.prompts[i])] for i in rows]))
            wanted = torch.tensor([w.out_lens[i] for i in rows])

            class PerRow(StoppingCriteria):
                def __call__(self, input_ids, scores, **kwargs):  # noqa: ANN001, D102
                    return (input_ids.shape[1] - width) >= wanted

            with torch.no_grad():
                out = self.model.generate(ids, attention_mask=mask.long(), max_new_tokens=int(wanted.max()),
                                          do_sample=False, pad_token_id=0, eos_token_id=None,
                                          stopping_criteria=StoppingCriteriaList([PerRow()]))  # fmt: skip
            for j, i in enumerate(rows):
                result[i] = out[j, width : width + w.out_lens[i]].tolist()
        return [result[i] for i in range(len(w.prompts))]


def child(model_dir: Path, model: str, runs: int) -> dict:
    """Build, warm up, then time the engines in rotating order; return every run's figures."""
    import torch

    w = make_workload(model)
    engines = [Minivllm(model_dir), HFContinuous(model_dir), HFStatic(model_dir)]
    tokens = sum(w.out_lens)
    outputs = {e.name: e.run(w) for e in engines}  # warm-up on the full workload
    times: dict[str, list[float]] = {e.name: [] for e in engines}
    load_before = os.getloadavg()[0]
    for r in range(runs):
        for k in range(len(engines)):
            engine = engines[(r + k) % len(engines)]
            start = time.perf_counter()
            out = engine.run(w)
            times[engine.name].append(time.perf_counter() - start)
            assert [len(t) for t in out] == w.out_lens, engine.name
    for e in engines:
        getattr(e, "close", lambda: None)()
    same = sum(a == b for a, b in zip(outputs["minivllm"], outputs["transformers continuous batching"]))
    return {"threads": torch.get_num_threads(), "tokens": tokens, "requests": len(w.prompts), "times": times,
            "load": (load_before, os.getloadavg()[0]), "identical_to_cb": same}  # fmt: skip


def build(model: str, path: Path) -> Path:
    """A seeded random Llama checkpoint of the given size, written with save_pretrained."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(**MODELS[model])).float().save_pretrained(path)
    return path


def report(model: str, params: float, res: dict) -> None:
    """One configuration's table: median tok/s and min-max per engine, and the ratio to the best peer."""
    tokens = res["tokens"]
    n_p, (p_lo, p_hi), (o_lo, o_hi) = WORKLOADS[model]
    print(f"\n== {model} ({params / 1e6:.0f}M params, fp32), {res['threads']} thread(s): {n_p} requests, "
          f"prompts {p_lo}-{p_hi}, outputs {o_lo}-{o_hi} ({tokens} output tokens); "
          f"load {res['load'][0]:.1f} -> {res['load'][1]:.1f} ==")
    medians = {}
    for name, ts in res["times"].items():
        rates = sorted(tokens / t for t in ts)
        medians[name] = statistics.median(rates)
        print(f"  {name:44s} median {medians[name]:7.1f} tok/s  (min {rates[0]:7.1f}, max {rates[-1]:7.1f}; {len(ts)} runs)")
    best_peer = max((v, k) for k, v in medians.items() if k != "minivllm")
    print(f"  minivllm / best transformers mode ({best_peer[1]}): {medians['minivllm'] / best_peer[0]:.2f}x;"
          f" greedy outputs identical to continuous batching: {res['identical_to_cb']}/{res['requests']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        import torch

        torch.set_num_threads(args.threads[0])
        print(json.dumps(child(Path(args.child[1]), args.child[0], args.runs)))
        return 0
    print(f"bench/engine.py: load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            path = build(model, Path(tmp) / model)
            from safetensors.torch import load_file

            params = sum(t.numel() for t in load_file(str(path / "model.safetensors")).values())
            for threads in args.threads:
                env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
                cmd = [sys.executable, __file__, "--child", model, str(path), "--threads", str(threads), "--runs", str(args.runs)]
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
                if proc.returncode:
                    print(f"\n== {model}, {threads} thread(s): child failed ==\n{proc.stderr[-2000:]}")
                    continue
                report(model, params, json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
