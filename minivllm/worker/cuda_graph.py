"""CUDA graphs for decode steps: capture a ladder of batch sizes once, pad, replay.

A decode step of a 1B model launches a few hundred small kernels; at small
batches the launches, not the arithmetic, set the step time. A CUDA graph
records those launches once and replays them with one call. A graph is
frozen (same buffers, same shapes), so the runner records one graph per
size of a ladder, over views of the persistent input buffers, pads each
decode batch to the next recorded size (padding requests have no tokens:
the kernels skip them) and reads the first rows of the graph's output.
Steps that are not pure decode, or larger than the ladder, run eagerly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from minivllm.worker.input_buffers import InputBuffers


# upstream: vllm/config/vllm.py:1597 — VllmConfig._set_cudagraph_sizes()
def capture_sizes(max_batch: int) -> list[int]:
    """1, 2, 4, then multiples of 8 below 256 and of 16 from 256, up to ``max_batch`` (included)."""
    ladder = [1, 2, 4, *range(8, 256, 8), *range(256, 513, 16)]
    sizes = [s for s in ladder if s < max_batch]
    return [*sizes, max_batch] if max_batch <= 512 else [s for s in ladder if s <= max_batch]


# upstream: vllm/v1/cudagraph_dispatcher.py:76 — CudagraphDispatcher._compute_bs_to_padded_graph_size()
def padded_size_table(sizes: Sequence[int]) -> list[int]:
    """Entry ``n``: the smallest captured size that holds ``n`` requests (0 for 0)."""
    table = [0] * (max(sizes) + 1)
    for n in range(1, len(table)):
        table[n] = min(s for s in sizes if s >= n)
    return table


# upstream: vllm/compilation/cuda_graph.py:145 — CUDAGraphWrapper
class DecodeGraphs:
    """One recorded forward pass per batch size of the ladder, sharing one memory pool.

    Args:
        model: The model; called as ``model(input_ids, positions, kv_caches, metadata)``.
        kv_caches: The layers' caches (recorded by address, so never reallocated).
        buffers: The runner's persistent inputs; graphs read their device side.
        sizes: Batch sizes to record.
    """

    def __init__(
        self, model: nn.Module, kv_caches: list[torch.Tensor], buffers: InputBuffers, sizes: Sequence[int]
    ) -> None:
        self.model = model
        self.kv_caches = kv_caches
        self.buffers = buffers
        self.sizes = sorted(sizes)
        self.padded = padded_size_table(self.sizes)
        self.graphs: dict[int, tuple[torch.cuda.CUDAGraph, torch.Tensor]] = {}
        self.num_replays = 0

    @property
    def max_size(self) -> int:
        """The largest recorded batch."""
        return self.sizes[-1]

    def _empty_batch(self, size: int) -> None:
        """Fill the buffers with a batch of ``size`` requests that have no tokens (what capture runs)."""
        b = self.buffers
        b.input_ids.dev[:size].zero_()
        b.positions.dev[:size].zero_()
        b.slot_mapping.dev[:size].fill_(-1)
        b.cu_seqlens.dev[: size + 1].zero_()
        b.seq_lens.dev[:size].zero_()

    # upstream: vllm/v1/worker/gpu_model_runner.py:6498 — GPUModelRunner._capture_cudagraphs()
    @torch.inference_mode()
    def capture(self) -> None:
        """Warm up and record every size, largest first, so smaller graphs reuse its pool."""
        pool = torch.cuda.graph_pool_handle()
        side = torch.cuda.Stream()
        for size in reversed(self.sizes):
            ids, positions, md = self.buffers.static_metadata(size)
            self._empty_batch(size)
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self.model(ids, positions, self.kv_caches, md)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=pool):
                out = self.model(ids, positions, self.kv_caches, md)
            self.graphs[size] = (graph, out)
        torch.cuda.synchronize()

    def can_run(self, query_lens: Sequence[int]) -> bool:
        """A pure decode step (one token per request) no larger than the largest graph."""
        return bool(self.graphs) and 0 < len(query_lens) <= self.max_size and all(n == 1 for n in query_lens)

    # upstream: vllm/compilation/cuda_graph.py:233 — CUDAGraphWrapper.__call__()
    def replay(self, n: int) -> torch.Tensor:
        """Replay the graph for ``n`` requests (inputs already in the buffers, padded); hidden ``[n, H]``.

        The result is a view of the graph's static output: read it before the next replay.
        """
        graph, out = self.graphs[self.padded[n]]
        graph.replay()
        self.num_replays += 1
        return out[:n]
