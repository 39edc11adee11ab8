"""N-gram speculative decoding vs plain decoding on a repetitive workload.

Both runs use the same random Llama checkpoint, the same prompts and greedy
decoding, in this one process. Printed: wall time, target-model forward
passes, acceptance rate, tokens per pass — and whether the two outputs are
token-identical (they must be: greedy verification keeps exactly the argmax).

The workload: each prompt is a random token sequence quoted three times,
followed by the start of a fourth quotation. Random-weight models also fall
into loops of their own when decoding greedily; both kinds of repetition
are what prompt-lookup drafting exploits.

    python bench/spec.py            # 8 prompts, 256 new tokens each
    python bench/spec.py --quick    # 4 prompts, 96 new tokens
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minivllm import LLM, SamplingParams

CHECKPOINT = {
    "vocab_size": 4096, "hidden_size": 256, "intermediate_size": 768, "num_hidden_layers": 6,
    "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 1024,
    "tie_word_embeddings": False, "bos_token_id": None, "eos_token_id": None, "pad_token_id": 0,
}
SPEC = {"method": "ngram", "num_speculative_tokens": 5, "prompt_lookup_min": 2, "prompt_lookup_max": 4}


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


def run(model: Path, prompts: list[list[int]], max_tokens: int, spec: dict | None) -> dict:
    """Generate greedily; return outputs, seconds, passes and speculation stats."""
    llm = LLM(model, speculative_config=spec, max_num_seqs=len(prompts), max_model_len=1024)
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, ignore_eos=True, detokenize=False)
    engine = llm.llm_engine
    start = time.perf_counter()
    outs = llm.generate(prompts, params)
    seconds = time.perf_counter() - start
    return {
        "tokens": [o.outputs[0].token_ids for o in outs],
        "seconds": seconds,
        "passes": engine.num_steps,
        "stats": engine.spec_decoding_stats,
    }


def main(argv: list[str] | None = None) -> int:
    """Run both configurations and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller workload")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    n, max_tokens = (4, 96) if args.quick else (8, 256)
    prompts = quoting_prompts(n, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        model = build_checkpoint(Path(tmp))
        base = run(model, prompts, max_tokens, None)
        spec = run(model, prompts, max_tokens, SPEC)
    stats = spec["stats"]
    identical = base["tokens"] == spec["tokens"]
    print(f"workload: {n} self-quoting prompts ({min(map(len, prompts))}-{max(map(len, prompts))} tokens), "
          f"{max_tokens} greedy tokens each, batched; model {CHECKPOINT['num_hidden_layers']} layers x "
          f"{CHECKPOINT['hidden_size']}, {args.threads} threads")
    print(f"speculation: {SPEC}")
    print(f"{'':24}{'no speculation':>16}{'n-gram':>16}")
    print(f"{'wall time (s)':24}{base['seconds']:16.2f}{spec['seconds']:16.2f}")
    print(f"{'target forward passes':24}{base['passes']:16d}{spec['passes']:16d}")
    print(f"{'acceptance rate':24}{'-':>16}{stats.acceptance_rate:16.1%}")
    print(f"{'tokens per verify pass':24}{'1.00':>16}{stats.mean_accepted_length:16.2f}")
    print(f"passes saved: {base['passes'] / spec['passes']:.2f}x fewer target passes "
          f"(goal >= 1.5x); wall-time speed-up {base['seconds'] / spec['seconds']:.2f}x")
    print(f"greedy outputs identical: {identical}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
