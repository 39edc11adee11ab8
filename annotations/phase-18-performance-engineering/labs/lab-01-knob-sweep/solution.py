"""Lab 18.01: sweep serving knobs and keep only the configurations worth running.

Throughput and latency pull against each other: a bigger batch (``max_num_seqs``) or token
budget (``max_num_batched_tokens``) raises tokens per second and lengthens every step. A sweep
measures a grid of settings; the *Pareto front* keeps only the settings that no other beats on
both axes at once; and a latency SLO (say p99 inter-token latency ≤ 40 ms) picks one of them.

:func:`toy_serving_model` stands in for a benchmark run so the lab is deterministic and
instant; with a real server the same three functions post-process ``vllm bench`` results.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Metrics:
    """What one benchmark run reports."""

    throughput: float  # output tokens per second
    latency: float  # e.g. p99 inter-token latency, ms


@dataclass(frozen=True)
class Result:
    """One grid point and its measurement; ``index`` is its position in the grid."""

    index: int
    knobs: tuple[tuple[str, object], ...]
    metrics: Metrics


def toy_serving_model(knobs: Mapping[str, object]) -> Metrics:
    """A rough analytic decode-heavy server: step time grows with batch and chunked-prefill budget."""
    seqs = int(knobs["max_num_seqs"])  # type: ignore[arg-type]
    budget = int(knobs["max_num_batched_tokens"])  # type: ignore[arg-type]
    prefill_tokens = max(budget - seqs, 0) * 0.25  # the share of the budget prefill uses on average
    step_ms = 6.0 + 0.05 * seqs + 0.004 * prefill_tokens + 0.00002 * seqs * seqs
    return Metrics(throughput=1000.0 * seqs / step_ms, latency=step_ms)


def expand_grid(params: Mapping[str, Sequence[object]]) -> list[dict[str, object]]:
    """Every combination of the listed values, first key varying slowest."""
    keys = list(params)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(params[k] for k in keys))]


def sweep(grid: Sequence[Mapping[str, object]], run: Callable[[Mapping[str, object]], Metrics]) -> list[Result]:
    """Run every grid point once, in order."""
    return [Result(i, tuple(point.items()), run(point)) for i, point in enumerate(grid)]


def _dominates(a: Metrics, b: Metrics) -> bool:
    no_worse = a.throughput >= b.throughput and a.latency <= b.latency
    return no_worse and (a.throughput > b.throughput or a.latency < b.latency)


def pareto_front(results: Sequence[Result]) -> list[Result]:
    """Results no other result beats on both throughput (higher) and latency (lower)."""
    front = [r for r in results if not any(_dominates(o.metrics, r.metrics) for o in results)]
    return sorted(front, key=lambda r: (r.metrics.latency, r.metrics.throughput, r.index))


def best_under_slo(results: Sequence[Result], slo: float) -> Result | None:
    """The highest-throughput result whose latency meets the SLO (None if none does)."""
    ok = [r for r in results if r.metrics.latency <= slo]
    if not ok:
        return None
    return min(ok, key=lambda r: (-r.metrics.throughput, r.metrics.latency, r.index))
