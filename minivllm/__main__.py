"""``python -m minivllm --model DIR --prompt TEXT``: a quick try from the shell."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The command-line options (kept separate so tests can inspect them)."""
    parser = argparse.ArgumentParser(prog="python -m minivllm", description=__doc__)
    parser.add_argument("--model", required=True, help="Hugging Face checkpoint directory")
    parser.add_argument("--prompt", action="append", required=True, help="prompt text (repeatable)")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--stream", action="store_true", help="print text as it is generated")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Generate for each prompt and print the text; return the exit code."""
    args = build_parser().parse_args(argv)
    from minivllm import LLM, SamplingParams

    try:
        llm = LLM(args.model)
        params = SamplingParams(
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            seed=args.seed,
            max_tokens=args.max_tokens,
        )
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.stream:
        for out in llm.stream(args.prompt, params):
            print(out.outputs[0].text, end="", flush=True)
        print()
        return 0
    for prompt, out in zip(args.prompt, llm.generate(args.prompt, params)):
        print(f"{prompt!r} -> {out.outputs[0].text!r} [{out.outputs[0].finish_reason}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
