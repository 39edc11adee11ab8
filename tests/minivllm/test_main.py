"""Tests for minivllm.__main__ (called in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from minivllm.__main__ import build_parser, main


def test_generate_prints_each_prompt(tiny_llama_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each prompt is printed with its completion and finish reason; exit code 0."""
    code = main(["--model", str(tiny_llama_dir), "--prompt", "hi", "--prompt", "yo", "--max-tokens", "3"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0 and len(out) == 2
    assert out[0].startswith("'hi' -> ") and out[1].startswith("'yo' -> ")
    assert out[0].endswith("]")


def test_stream_mode(tiny_llama_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--stream prints text as it comes and ends with a newline."""
    assert main(["--model", str(tiny_llama_dir), "--prompt", "hi", "--stream", "--max-tokens", "2"]) == 0
    assert capsys.readouterr().out.endswith("\n")


def test_bad_model_dir_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory that is not a checkpoint gives a message and exit code 2, no traceback."""
    assert main(["--model", str(tmp_path), "--prompt", "x"]) == 2
    assert "config.json" in capsys.readouterr().err


def test_parser_defaults_to_greedy() -> None:
    """Without flags the CLI decodes greedily."""
    args = build_parser().parse_args(["--model", "m", "--prompt", "p"])
    assert args.temperature == 0.0 and args.max_tokens == 32
