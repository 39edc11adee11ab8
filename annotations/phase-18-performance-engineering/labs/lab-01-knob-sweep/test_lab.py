"""Lab 18.01 tests: grid expansion, Pareto front == brute force, SLO choice is optimal."""

from __future__ import annotations

import random

from annotator.labs import load_impl

impl = load_impl(__file__)


def results_from(points):
    """Wrap (throughput, latency) pairs as Results in order."""
    return [impl.Result(i, (("i", i),), impl.Metrics(t, l)) for i, (t, l) in enumerate(points)]


def brute_front(results):
    """The definition: keep r unless some other result is no worse on both axes and better on one."""
    keep = []
    for r in results:
        dominated = any(
            o.metrics.throughput >= r.metrics.throughput
            and o.metrics.latency <= r.metrics.latency
            and (o.metrics.throughput > r.metrics.throughput or o.metrics.latency < r.metrics.latency)
            for o in results
        )
        if not dominated:
            keep.append(r.index)
    return sorted(keep)


def test_grid_is_the_cartesian_product_in_order():
    """Three knobs give 2*3*2 points, first key slowest, each combination once."""
    grid = impl.expand_grid({"a": [1, 2], "b": ["x", "y", "z"], "c": [True, False]})
    assert len(grid) == 12
    assert grid[0] == {"a": 1, "b": "x", "c": True}
    assert grid[1] == {"a": 1, "b": "x", "c": False}
    assert grid[-1] == {"a": 2, "b": "z", "c": False}
    assert len({tuple(p.items()) for p in grid}) == 12


def test_front_equals_brute_force_on_random_clouds():
    """On random clouds with ties and duplicates, the front is exactly the non-dominated set."""
    rng = random.Random(0)
    for _ in range(200):
        points = [(rng.randint(0, 9), rng.randint(0, 9)) for _ in range(rng.randint(1, 12))]
        results = results_from(points)
        front = impl.pareto_front(results)
        assert sorted(r.index for r in front) == brute_front(results)
        lat = [r.metrics.latency for r in front]
        thr = [r.metrics.throughput for r in front]
        assert lat == sorted(lat) and thr == sorted(thr)


def test_slo_choice_is_optimal_and_on_the_front():
    """The pick meets the SLO, no SLO-meeting result beats it, and it lies on the front."""
    rng = random.Random(1)
    points = [(rng.uniform(0, 100), rng.uniform(1, 50)) for _ in range(40)]
    results = results_from(points)
    best = impl.best_under_slo(results, 20.0)
    assert best is not None and best.metrics.latency <= 20.0
    assert all(r.metrics.throughput <= best.metrics.throughput for r in results if r.metrics.latency <= 20.0)
    assert best.index in {r.index for r in impl.pareto_front(results)}
    assert impl.best_under_slo(results, 0.5) is None
    edge = results_from([(10.0, 5.0), (99.0, 20.0)])
    assert impl.best_under_slo(edge, 20.0).metrics.throughput == 99.0  # latency exactly at the SLO meets it


def test_sweep_over_toy_server_is_monotone_in_slo():
    """On the toy serving model, a looser SLO never picks a lower-throughput configuration."""
    grid = impl.expand_grid({"max_num_seqs": [1, 8, 32, 128, 256], "max_num_batched_tokens": [512, 2048, 8192]})
    results = impl.sweep(grid, impl.toy_serving_model)
    assert [r.index for r in results] == list(range(15))
    assert dict(results[4].knobs) == grid[4]
    picks = [impl.best_under_slo(results, slo) for slo in (8, 12, 20, 40, 80)]
    throughputs = [p.metrics.throughput for p in picks if p is not None]
    assert len(throughputs) >= 3 and throughputs == sorted(throughputs)
