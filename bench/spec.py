"""N-gram speculative decoding: minivllm against plain decoding and transformers' prompt lookup.

Same random Llama checkpoint, same self-quoting prompts, greedy, same thread count, one
process. Engines:

- minivllm, no speculation, all prompts batched;
- minivllm, n-gram speculation, all prompts batched;
- minivllm, n-gram speculation, one prompt at a time (batch 1, the peer's setting);
- transformers ``generate(prompt_lookup_num_tokens=...)`` (prompt-lookup decoding), batch 1 —
  transformers supports it only at batch 1 — with the same draft length and match length.

Every engine is built and warmed up on the whole workload first (untimed); then they take turns
for ``--runs`` rounds, the starting engine rotating; each figure is the median wall time with the
min-max. Printed too: target forward passes and acceptance of minivllm's speculation, the load
average, and whether every engine's greedy output equals minivllm's plain decoding.

    python bench/spec.py             # 6 prompts, 128 new tokens, 5 runs, 2 threads
    python bench/spec.py --quick     # 4 prompts, 64 new tokens
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minivllm import LLM, SamplingParams  # noqa: E402

CHECKPOINT = {
    "vocab_size": 4096, "hidden_size": 256, "intermediate_size": 768, "num_hidden_layers": 6,
    "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 1024,
    "tie_word_embeddings": False, "bos_token_id": None, "eos_token_id": None, "pad_token_id": 0,
}  # fmt: skip
SPEC = {"method": "ngram", "num_speculative_tokens": 5, "prompt_lookup_min": 2, "prompt_lookup_max": 4}
Runner = Callable[[list[list[int]], int], list[list[int]]]


def build_checkpoint(path: Path) -> Path:
    """A seeded random Llama checkpoint written with transformers' save_pretrained."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(**CHECKPOINT)).float().save_pretrained(path)
    return path


def quoting_prompts(n: int, seed: int) -> list[list[int]]:
    """Prompts that quote themselves: a random phrase three times, then half of it again."""
    rng = random.Random(seed)
    prompts = []
    for _ in range(n):
        phrase = [rng.randrange(1, CHECKPOINT["vocab_size"]) for _ in range(rng.randint(12, 40))]
        prompts.append(phrase * 3 + phrase[: len(phrase) // 2])
    return prompts


def minivllm_runner(model: Path, spec: dict | None, one_at_a_time: bool) -> tuple[Runner, LLM]:
    """A greedy minivllm engine; batched, or fed one prompt per ``generate`` call."""
    llm = LLM(model, speculative_config=spec, max_num_seqs=16, max_model_len=1024)

    def run(prompts: list[list[int]], max_tokens: int) -> list[list[int]]:
        params = SamplingParams(temperature=0.0, max_tokens=max_tokens, ignore_eos=True, detokenize=False)
        groups = [[p] for p in prompts] if one_at_a_time else [prompts]
        return [list(o.outputs[0].token_ids) for g in groups for o in llm.generate(g, params)]

    return run, llm


def hf_prompt_lookup_runner(model: Path) -> Runner:
    """transformers prompt-lookup decoding, one prompt at a time (its only supported batch size)."""
    from transformers import LlamaForCausalLM

    hf = LlamaForCausalLM.from_pretrained(model, dtype=torch.float32).eval()

    def run(prompts: list[list[int]], max_tokens: int) -> list[list[int]]:
        outs = []
        for p in prompts:
            with torch.no_grad():
                ids = hf.generate(
                    torch.tensor([p]), max_new_tokens=max_tokens, min_new_tokens=max_tokens, do_sample=False,
                    prompt_lookup_num_tokens=SPEC["num_speculative_tokens"], max_matching_ngram_size=SPEC["prompt_lookup_max"],
                    pad_token_id=0, eos_token_id=None,
                )  # fmt: skip
            outs.append(ids[0, len(p) :].tolist())
        return outs

    return run


def main(argv: list[str] | None = None) -> int:
    """Warm up, alternate, repeat; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller workload")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    n, max_tokens = (4, 64) if args.quick else (6, 128)
    prompts = quoting_prompts(n, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        model = build_checkpoint(Path(tmp))
        plain, _ = minivllm_runner(model, None, False)
        spec, spec_llm = minivllm_runner(model, SPEC, False)
        spec1, _ = minivllm_runner(model, SPEC, True)
        engines: dict[str, Runner] = {
            "minivllm, no speculation (batched)": plain,
            "minivllm, n-gram (batched)": spec,
            "minivllm, n-gram (batch 1)": spec1,
            "transformers prompt lookup (batch 1)": hf_prompt_lookup_runner(model),
        }
        outputs = {name: run(prompts, max_tokens) for name, run in engines.items()}  # warm-up
        engine = spec_llm.llm_engine
        steps_before, stats_before = engine.num_steps, engine.spec_decoding_stats
        spec(prompts, max_tokens)
        passes = engine.num_steps - steps_before
        stats = engine.spec_decoding_stats
        accepted = stats.num_accepted_tokens - stats_before.num_accepted_tokens
        drafted = stats.num_draft_tokens - stats_before.num_draft_tokens
        load_before = os.getloadavg()[0]
        times: dict[str, list[float]] = {name: [] for name in engines}
        names = list(engines)
        for r in range(args.runs):
            for k in range(len(names)):
                name = names[(r + k) % len(names)]
                start = time.perf_counter()
                engines[name](prompts, max_tokens)
                times[name].append(time.perf_counter() - start)
    reference = outputs["minivllm, no speculation (batched)"]
    print(f"workload: {n} self-quoting prompts ({min(map(len, prompts))}-{max(map(len, prompts))} tokens), "
          f"{max_tokens} greedy tokens each; model {CHECKPOINT['num_hidden_layers']} layers x "
          f"{CHECKPOINT['hidden_size']}, fp32, {torch.get_num_threads()} threads; speculation {SPEC}")
    print(f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}; {args.runs} alternated runs after a warm-up")
    base = statistics.median(times["minivllm, no speculation (batched)"])
    for name, ts in times.items():
        med = statistics.median(ts)
        same = sum(a == b for a, b in zip(outputs[name], reference))
        print(f"  {name:38s} median {med:6.2f} s (min {min(ts):6.2f}, max {max(ts):6.2f})  "
              f"{base / med:5.2f}x vs minivllm plain; outputs identical {same}/{n}")
    print(f"minivllm n-gram (batched): {passes} target passes for {n * max_tokens} tokens, "
          f"acceptance {accepted / max(drafted, 1):.1%}")
    peer = statistics.median(times["transformers prompt lookup (batch 1)"])
    print(f"minivllm n-gram batch 1 vs transformers prompt lookup batch 1: "
          f"{peer / statistics.median(times['minivllm, n-gram (batch 1)']):.2f}x; "
          f"minivllm n-gram batched vs it: {peer / statistics.median(times['minivllm, n-gram (batched)']):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
