"""Persistent step inputs for a CUDA engine: pinned host staging, device twins, a block table kept across steps.

Building a dozen small tensors from Python lists every step, then moving each
to the GPU with a blocking copy, costs more than a small decode step's
arithmetic. Here every input has a fixed-size pinned host buffer and a
device buffer of the same size, allocated once: a step fills the host side
with numpy, then issues one asynchronous copy per input. The block table
keeps one row per live request, and a step writes only the block ids that
are new since the request's previous step.

The device buffers are also the static inputs of the captured CUDA graphs:
a graph recorded over ``buffer[:size]`` reads whatever a later step copied
there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from minivllm.core.sched.output import SchedulerOutput
from minivllm.kernels.backend import PagedMetadata


class _Staged:
    """One input: a pinned host buffer, its numpy view, and its device twin."""

    def __init__(self, size: int, dtype: torch.dtype, device: torch.device) -> None:
        self.host = torch.zeros(size, dtype=dtype, pin_memory=device.type == "cuda")
        self.np = self.host.numpy()
        self.dev = torch.zeros(size, dtype=dtype, device=device)

    def upload(self, n: int) -> torch.Tensor:
        """Copy the first ``n`` host entries to the device without waiting; return the device view."""
        self.dev[:n].copy_(self.host[:n], non_blocking=True)
        return self.dev[:n]


# upstream: vllm/v1/worker/gpu_input_batch.py:91 — InputBatch
class InputBuffers:
    """The device path's inputs, reused from step to step.

    Args:
        max_tokens: Most tokens in one step (``max_num_batched_tokens``).
        max_reqs: Most requests in one step (``max_num_seqs``).
        max_blocks: Widest block table a request can need.
        block_size: Tokens per KV block.
        device: Where the model runs.
    """

    def __init__(self, max_tokens: int, max_reqs: int, max_blocks: int, block_size: int, device: torch.device) -> None:
        self.block_size = block_size
        self.input_ids = _Staged(max_tokens, torch.int64, device)
        self.positions = _Staged(max_tokens, torch.int64, device)
        self.slot_mapping = _Staged(max_tokens, torch.int64, device)
        self.cu_seqlens = _Staged(max_reqs + 1, torch.int32, device)
        self.seq_lens = _Staged(max_reqs, torch.int32, device)
        self.table = np.zeros((max_reqs, max_blocks), dtype=np.int32)
        pin = device.type == "cuda"
        self.table_stage = torch.zeros(max_reqs, max_blocks, dtype=torch.int32, pin_memory=pin)
        self.table_stage_np = self.table_stage.numpy()
        self.table_dev = torch.zeros(max_reqs, max_blocks, dtype=torch.int32, device=device)
        self.rows: dict[str, int] = {}
        self.written: dict[str, int] = {}
        self.free_rows = list(range(max_reqs - 1, -1, -1))
        # Marks when the last step's copies left the pinned buffers, which the next step overwrites.
        self.copied = torch.cuda.Event() if device.type == "cuda" else None

    # upstream: vllm/v1/worker/block_table.py:102 — BlockTable.append_row()
    def _sync_row(self, req_id: str, block_ids: Sequence[int]) -> int:
        """The request's table row, with the block ids it gained since last step written in.

        The last block written before is written again: copy-on-write may
        have replaced a shared partial block by a private copy.
        """
        row = self.rows.get(req_id)
        if row is None:
            if not self.free_rows:
                self._grow_rows()
            row = self.free_rows.pop()
            self.rows[req_id] = row
        n = len(block_ids)
        if n > self.table.shape[1]:
            raise ValueError(f"request {req_id} holds {n} blocks; the table has room for {self.table.shape[1]}")
        start = max(0, min(self.written.get(req_id, 0), n) - 1)
        self.table[row, start:n] = block_ids[start:]
        self.written[req_id] = n
        return row

    def _grow_rows(self) -> None:
        """Double the persistent table's rows (more live requests than one step can schedule)."""
        old = self.table.shape[0]
        self.table = np.concatenate([self.table, np.zeros_like(self.table)])
        self.free_rows.extend(range(2 * old - 1, old - 1, -1))

    def release(self, req_ids: Iterable[str]) -> None:
        """Give the rows of finished or preempted requests back."""
        for req_id in req_ids:
            row = self.rows.pop(req_id, None)
            self.written.pop(req_id, None)
            if row is not None:
                self.free_rows.append(row)

    # upstream: vllm/v1/worker/gpu_model_runner.py:1863 — GPUModelRunner._prepare_inputs()
    def prepare(
        self, so: SchedulerOutput, tokens: Sequence[int], pad_to: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, PagedMetadata]:
        """Fill the buffers for one step; return device ``input_ids``, ``positions`` and the metadata.

        ``pad_to`` (a decode step replayed through a CUDA graph) extends the
        batch with requests of no tokens: their slots are -1 and their
        context empty, so the kernels leave the cache alone for them.
        """
        if self.copied is not None:
            self.copied.synchronize()
        qlens = np.asarray(so.num_scheduled_tokens, dtype=np.int64)
        starts = np.asarray(so.num_computed_tokens, dtype=np.int64)
        batch, total = len(qlens), int(qlens.sum())
        rows = np.array([self._sync_row(r.request_id, b) for r, b in zip(so.requests, so.block_ids)])
        cu = np.zeros(batch + 1, dtype=np.int64)
        np.cumsum(qlens, out=cu[1:])
        req_of_tok = np.repeat(np.arange(batch), qlens)
        pos = starts[req_of_tok] + np.arange(total) - cu[req_of_tok]
        bs = self.block_size
        n_tok, n_req = (total, batch) if pad_to is None else (pad_to, pad_to)
        self.input_ids.np[:total] = tokens
        self.positions.np[:total] = pos
        self.slot_mapping.np[:total] = self.table[rows[req_of_tok], pos // bs] * bs + pos % bs
        self.cu_seqlens.np[: batch + 1] = cu
        self.seq_lens.np[:batch] = starts + qlens
        self.input_ids.np[total:n_tok] = 0
        self.positions.np[total:n_tok] = 0
        self.slot_mapping.np[total:n_tok] = -1
        self.cu_seqlens.np[batch + 1 : n_req + 1] = total
        self.seq_lens.np[batch:n_req] = 0
        self.table_stage_np[:batch] = self.table[rows]
        self.table_dev[:batch].copy_(self.table_stage[:batch], non_blocking=True)
        md = PagedMetadata(
            slot_mapping=self.slot_mapping.upload(n_tok),
            block_table=self.table_dev[:n_req],
            query_start_loc=self.cu_seqlens.upload(n_req + 1),
            seq_lens=self.seq_lens.upload(n_req),
            max_query_len=int(qlens.max()) if batch else 0,
        )
        ids, positions = self.input_ids.upload(n_tok), self.positions.upload(n_tok)
        if self.copied is not None:
            self.copied.record()
        return ids, positions, md

    def static_metadata(self, size: int) -> tuple[torch.Tensor, torch.Tensor, PagedMetadata]:
        """Views of the device buffers for a decode batch of ``size`` (what a graph is captured over)."""
        md = PagedMetadata(
            slot_mapping=self.slot_mapping.dev[:size],
            block_table=self.table_dev[:size],
            query_start_loc=self.cu_seqlens.dev[: size + 1],
            seq_lens=self.seq_lens.dev[:size],
            max_query_len=1,
        )
        return self.input_ids.dev[:size], self.positions.dev[:size], md
