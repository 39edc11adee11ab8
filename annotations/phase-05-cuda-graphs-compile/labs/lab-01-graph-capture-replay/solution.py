"""Lab 05.01: capture a step once per batch size, then replay it with padded inputs.

A CUDA graph records a sequence of kernel launches with fixed tensor addresses and fixed shapes;
replaying it skips Python and launch overhead, which dominates small decode steps. The price is
rigidity: the graph reads its input from, and writes its output to, the exact buffers used at
capture time, and only for the batch size it was captured at. So an engine captures a ladder of
sizes, pads each real batch up to the next rung, copies the batch into that rung's static
input, replays, and reads the first rows of the static output.

On a CUDA device :func:`record` captures a real graph; on the CPU it simulates one with the same
contract (fixed input and output buffers, a ``replay()`` that recomputes in place).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Step = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class CapturedGraph:
    """One captured batch size: its fixed buffers and how to re-run it."""

    size: int
    static_input: torch.Tensor
    static_output: torch.Tensor
    replay: Callable[[], None]


def record(fn: Step, static_input: torch.Tensor) -> CapturedGraph:
    """Capture ``fn`` on ``static_input`` (a real CUDA graph on GPU, a simulation on CPU)."""
    if static_input.is_cuda:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            fn(static_input)  # warm-up: lazy initialisation must not happen during capture
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = fn(static_input)
        return CapturedGraph(static_input.shape[0], static_input, out, graph.replay)
    out = fn(static_input)

    def replay() -> None:
        out.copy_(fn(static_input))

    return CapturedGraph(static_input.shape[0], static_input, out, replay)


def default_capture_sizes(max_num_seqs: int) -> list[int]:
    """Batch sizes to capture: dense where batches are small, sparser as they grow.

    Small decode batches are the common case and gain the most from graphs, so every
    power-of-two step up to 4 and every multiple of 8 is captured; past 256 a step of 16 keeps
    capture time and graph memory in check.
    """
    largest = min(2 * max_num_seqs, 512)
    ladder = [1, 2, 4, *range(8, 256, 8), *range(256, largest + 1, 16)]
    return [s for s in ladder if s <= largest]


def padded_size_table(capture_sizes: list[int]) -> list[int]:
    """``table[n]``: the captured size a batch of ``n`` is padded to (``table[0] == 0``)."""
    sizes = sorted(capture_sizes)
    table = [0] * (sizes[-1] + 1)
    rung = 0
    for n in range(1, len(table)):
        while sizes[rung] < n:
            rung += 1
        table[n] = sizes[rung]
    return table


class GraphRunner:
    """Runs a row-wise step through captured graphs, falling back to eager for big batches.

    Args:
        fn: The step, ``[n, width] -> [n, out_width]``; row ``i`` of the output may depend on
            any input row (so padding rows must be clean).
        capture_sizes: Batch sizes to capture.
        width: Input feature width.
        device: Where the static buffers live.
    """

    def __init__(self, fn: Step, capture_sizes: list[int], width: int, device: str = "cpu") -> None:
        self.fn = fn
        self.capture_sizes = sorted(capture_sizes)
        self.width = width
        self.device = device
        self.padded = padded_size_table(self.capture_sizes)
        self.graphs: dict[int, CapturedGraph] = {}
        self.num_eager_calls = 0

    def capture(self) -> None:
        """Record one graph per capture size, each with its own zeroed static input."""
        for size in self.capture_sizes:
            static_input = torch.zeros(size, self.width, device=self.device)
            self.graphs[size] = record(self.fn, static_input)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Run ``x`` ``[n, width]``; the result is a view into a static buffer.

        The view is overwritten by the next call that replays the same graph — callers must
        consume (or copy) it first, exactly as with real CUDA graphs.
        """
        n = x.shape[0]
        if n >= len(self.padded):
            self.num_eager_calls += 1
            return self.fn(x)
        graph = self.graphs[self.padded[n]]
        graph.static_input[:n].copy_(x)
        graph.static_input[n:].zero_()
        graph.replay()
        return graph.static_output[:n]
