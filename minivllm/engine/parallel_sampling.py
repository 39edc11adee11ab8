"""Parallel sampling: one prompt, ``n`` independent samples, one result.

The engine turns a request with ``n > 1`` into ``n`` child requests. The
scheduler prefills the prompt once (for the first child) and then forks its
KV blocks to the others by reference count; this module only splits the
parameters and gathers the children's outputs back under the parent's id.
"""

from __future__ import annotations

import dataclasses

from minivllm.outputs import RequestOutput
from minivllm.sampling_params import RequestOutputKind, SamplingParams


# upstream: vllm/v1/engine/parallel_sampling.py:13 — ParentRequest
class ParentRequest:
    """Child ids and parameters of an ``n > 1`` request, and its output aggregation.

    Args:
        request_id: The id the user sees.
        params: The user's parameters (``n > 1``).
    """

    def __init__(self, request_id: str, params: SamplingParams) -> None:
        self.request_id = request_id
        self.params = params
        self._unfinished = set(range(params.n))
        self._finals: dict[int, RequestOutput] = {}

    @property
    def n(self) -> int:
        """Number of samples."""
        return self.params.n

    # upstream: vllm/v1/engine/parallel_sampling.py:83 — ParentRequest.get_child_info()
    def get_child_info(self, index: int) -> tuple[str, SamplingParams]:
        """Id and parameters of child ``index``.

        A seeded request gives child ``i`` the seed ``seed + i``: the samples
        must differ from one another, yet the whole set must be reproducible.
        """
        seed = None if self.params.seed is None else self.params.seed + index
        return f"{index}_{self.request_id}", dataclasses.replace(self.params, n=1, seed=seed)

    # upstream: vllm/v1/engine/parallel_sampling.py:100 — ParentRequest.get_outputs()
    def get_outputs(self, index: int, child: RequestOutput) -> RequestOutput | None:
        """Fold one child's output into what the user gets, if anything yet.

        Streaming kinds pass each child's completion through (tagged with its
        index) as it arrives; FINAL_ONLY waits for all ``n`` and returns them
        in index order. ``finished`` is True once every child has finished.
        """
        completion = dataclasses.replace(child.outputs[0], index=index)
        child = dataclasses.replace(child, request_id=self.request_id, outputs=(completion,))
        if child.finished:
            self._unfinished.discard(index)
        done = not self._unfinished
        if self.params.output_kind is not RequestOutputKind.FINAL_ONLY:
            return dataclasses.replace(child, finished=done)
        self._finals[index] = child
        if not done:
            return None
        outputs = tuple(self._finals[i].outputs[0] for i in range(self.n))
        return dataclasses.replace(child, outputs=outputs, finished=True)
