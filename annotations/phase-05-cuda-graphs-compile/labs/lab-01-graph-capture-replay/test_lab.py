"""Lab 05.01 tests: padded graph replay equals eager execution and only touches static buffers."""

from __future__ import annotations

import pytest
import torch

from annotator.labs import load_impl

impl = load_impl(__file__)

WIDTH = 6


def make_step(device: str = "cpu"):
    """A step that mixes rows (x + mean over the batch) so dirty padding would change results."""
    g = torch.Generator().manual_seed(0)
    w = torch.randn(WIDTH, 4, generator=g).to(device)
    seen: list[int] = []

    def step(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.data_ptr())
        return torch.tanh(x @ w) + x.sum(dim=0, keepdim=True) @ w * 0.1

    return step, seen


def test_capture_size_ladder():
    """The default ladder: 1, 2, 4, multiples of 8, then of 16 past 256, capped at 2*max_num_seqs (<= 512)."""
    assert impl.default_capture_sizes(2) == [1, 2, 4]
    assert impl.default_capture_sizes(64) == [1, 2, 4, *range(8, 129, 8)]
    big = impl.default_capture_sizes(1000)
    assert big[-1] == 512 and 248 in big and 256 in big and 264 not in big and 272 in big


def test_padded_size_table():
    """Each batch size pads to the smallest captured size at or above it."""
    table = impl.padded_size_table([1, 2, 4, 8, 16])
    assert table == [0, 1, 2, 4, 4, 8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16]


def test_replay_equals_eager_for_every_batch_size():
    """Batches of 1..20 through graphs captured at [1, 2, 4, 8, 16] equal the eager step; 17+ runs eagerly."""
    step, _ = make_step()
    runner = impl.GraphRunner(step, [1, 2, 4, 8, 16], WIDTH)
    runner.capture()
    g = torch.Generator().manual_seed(1)
    for n in [16, 3, 7, 1, 12, 5, 2, 20, 9]:
        x = torch.randn(n, WIDTH, generator=g)
        zero_padded = torch.cat((x, torch.zeros(runner.padded[n] - n if n <= 16 else 0, WIDTH)))
        expected = step(zero_padded)[:n]
        torch.testing.assert_close(runner(x), expected)
    assert runner.num_eager_calls == 1


def test_replay_only_touches_static_buffers_and_returns_a_view():
    """After capture the step sees only static inputs, and results are views of static outputs."""
    step, seen = make_step()
    runner = impl.GraphRunner(step, [2, 4, 8], WIDTH)
    runner.capture()
    assert sorted(runner.graphs) == [2, 4, 8]
    static_ptrs = {graph.static_input.data_ptr() for graph in runner.graphs.values()}
    seen.clear()
    out = runner(torch.ones(3, WIDTH))
    assert seen and set(seen) <= static_ptrs
    assert out.data_ptr() == runner.graphs[4].static_output.data_ptr()
    assert torch.equal(runner.graphs[4].static_input[3:], torch.zeros(1, WIDTH))


@pytest.mark.gpu
def test_real_cuda_graphs_match_eager():
    """On a CUDA device, real captured graphs give the eager result for every batch size."""
    if not torch.cuda.is_available():
        pytest.fail("marked gpu but no CUDA device")
    step, _ = make_step("cuda")
    runner = impl.GraphRunner(step, [1, 2, 4, 8], WIDTH, device="cuda")
    runner.capture()
    for n in range(1, 9):
        x = torch.randn(n, WIDTH, device="cuda")
        padded = torch.cat((x, torch.zeros(runner.padded[n] - n, WIDTH, device="cuda")))
        torch.testing.assert_close(runner(x).clone(), step(padded)[:n])
