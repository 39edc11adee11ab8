"""Lab 05.02 tests: decode steps replayed from CUDA graphs give the eager engine's tokens.

The dispatch rules and the padded replay are checked on any machine with stand-in graphs;
tests marked ``gpu`` record real graphs of the tiny Llama and run the whole engine with them.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)


class FakeGraph:
    """Stands in for torch.cuda.CUDAGraph: counts replays."""

    def __init__(self) -> None:
        self.replays = 0

    def replay(self) -> None:
        self.replays += 1


def fake_graphs(sizes: list[int]):
    graphs = impl.DecodeGraphs(None, [], None, sizes)
    graphs.graphs = {s: (FakeGraph(), torch.arange(s * 3.0).view(s, 3)) for s in sizes}
    return graphs


def test_only_pure_decode_steps_that_fit_replay():
    """One token per request, 1..largest size, and only once something was recorded."""
    graphs = fake_graphs([1, 2, 4, 8])
    assert graphs.can_run([1, 1, 1])
    assert graphs.can_run([1] * 8)
    assert not graphs.can_run([1] * 9), "larger than every recorded size"
    assert not graphs.can_run([1, 5, 1]), "a prefill chunk in the step"
    assert not graphs.can_run([]), "an empty step"
    assert not impl.DecodeGraphs(None, [], None, [1, 2]).can_run([1]), "nothing recorded yet"


def test_replay_uses_the_padded_size_and_returns_a_view():
    """Three requests replay the size-4 graph once and read the first three rows of its output."""
    graphs = fake_graphs([1, 2, 4, 8])
    out = graphs.replay(3)
    graph4, static4 = graphs.graphs[4]
    assert graph4.replays == 1 and sum(g.replays for g, _ in graphs.graphs.values()) == 1
    assert out.shape == (3, 3) and out.data_ptr() == static4.data_ptr()
    assert graphs.num_replays == 1
    graphs.replay(8)
    assert graphs.graphs[8][0].replays == 1 and graphs.num_replays == 2


@pytest.fixture(scope="module")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random two-layer Llama (GQA 4/2) saved by transformers."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=320, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         initializer_range=0.2, eos_token_id=2)
    path = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(path)
    return path


def _cuda() -> None:
    if not torch.cuda.is_available():
        pytest.fail("marked gpu but no CUDA device")


def _prompts(n: int) -> list[list[int]]:
    rng = random.Random(0)
    return [[rng.randrange(3, 320) for _ in range(rng.randrange(2, 40))] for _ in range(n)]


@pytest.mark.gpu
def test_engine_with_your_graphs_matches_eager(tiny_llama_dir: Path, monkeypatch):
    """The engine, recording decode steps with your DecodeGraphs, emits the eager engine's greedy tokens."""
    _cuda()
    import minivllm.worker.model_runner as runner_module
    from minivllm import LLM, SamplingParams

    params = SamplingParams(temperature=0, max_tokens=16, ignore_eos=True)
    eager = LLM(tiny_llama_dir, device="cuda", dtype=torch.float32, max_model_len=128, enforce_eager=True)
    expected = [o.outputs[0].token_ids for o in eager.generate(_prompts(11), params)]
    monkeypatch.setattr(runner_module, "DecodeGraphs", impl.DecodeGraphs)
    llm = LLM(tiny_llama_dir, device="cuda", dtype=torch.float32, max_model_len=128, max_num_seqs=16)
    graphs = llm.llm_engine.model_runner.graphs
    assert isinstance(graphs, impl.DecodeGraphs) and sorted(graphs.graphs) == graphs.sizes
    assert [o.outputs[0].token_ids for o in llm.generate(_prompts(11), params)] == expected
    assert graphs.num_replays >= 15, "the decode steps did not replay graphs"


@pytest.mark.gpu
def test_recording_writes_nothing_into_the_kv_cache(tiny_llama_dir: Path):
    """Capture runs the model on empty padded batches: every cache block keeps its contents."""
    _cuda()
    from minivllm import LLM

    llm = LLM(tiny_llama_dir, device="cuda", max_model_len=128, max_num_seqs=8, enforce_eager=True)
    runner = llm.llm_engine.model_runner
    for cache in runner.kv_caches:
        cache.normal_()
    before = [c.clone() for c in runner.kv_caches]
    graphs = impl.DecodeGraphs(runner.model, runner.kv_caches, runner.buffers, [1, 2, 4, 8])
    graphs.capture()
    assert sorted(graphs.graphs) == [1, 2, 4, 8]
    assert all(out.shape[0] == size for size, (_, out) in graphs.graphs.items())
    assert all(torch.equal(a, b) for a, b in zip(before, runner.kv_caches))
