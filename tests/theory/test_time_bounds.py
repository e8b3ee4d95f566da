"""Time to epsilon under the fixed computation model (theory.time_bounds)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.time_bounds import (
    Objective,
    asynchronous_max_delay,
    collect_time,
    harmonic_means,
    rate,
    speed_pattern,
    time_bounds,
)

OBJ = Objective(lsmooth=1.0, sigma2=1.0, f0=10.0, epsilon=0.1)
times_st = st.lists(st.floats(0.01, 100.0), min_size=1, max_size=12)


def _first_time_with(tau: list[float], count: int) -> float:
    """Brute force, worst phase: every worker has just started a gradient that will be
    thrown away, so its fresh ones end at 2 tau_i, 3 tau_i, ...; the time of the
    ``count``-th fresh gradient."""
    ends = sorted(k * t for t in tau for k in range(2, count + 3))
    return ends[count - 1]


@settings(max_examples=200, deadline=None)
@given(times_st, st.integers(1, 40))
def test_collect_time_covers_the_worst_phase(tau: list[float], count: int) -> None:
    bound, m = collect_time(tau, count)
    assert _first_time_with(tau, count) <= bound * (1 + 1e-12)
    assert 1 <= m <= len(tau)


def test_collect_time_is_the_papers_lemma_or_better() -> None:
    """The papers' t(R) = 2 min_m H_m (1 + R/m) is never below ours (R + 2m over the rate)."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        tau = rng.exponential(1.0, rng.integers(1, 20)) + 0.01
        r = int(rng.integers(1, 100))
        h = harmonic_means(tau)
        papers = min(2 * h[m - 1] * (1 + r / m) for m in range(1, len(tau) + 1))
        assert collect_time(tau, r)[0] <= papers * (1 + 1e-12)


def test_collect_time_uses_only_the_workers_worth_using() -> None:
    # two workers at 1 s, one at 100 s: 4 fresh gradients take (4 + 2*2)/2 = 4 s from the two
    assert collect_time([1.0, 1.0, 100.0], 4) == (4.0, 2)
    assert collect_time([1.0], 1) == (3.0, 1)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.floats(0.1, 10.0), min_size=1, max_size=6), st.floats(1.0, 50.0))
def test_a_slower_extra_worker_never_slows_the_optimal_methods(tau: list[float], slower: float) -> None:
    """Rennala and Ringmaster pick the fastest m: one more worker, slower than all, cannot
    make their bound worse (it can make asynchronous SGD's worse)."""
    before = {b.method: b.time for b in time_bounds(tau, OBJ, ["ringmaster", "rennala"])}
    after = {b.method: b.time for b in time_bounds([*tau, max(tau) * slower], OBJ, ["ringmaster", "rennala"])}
    for method in before:
        assert after[method] <= before[method] * (1 + 1e-9)


def test_a_straggler_costs_asynchronous_sgd_and_not_the_optimum() -> None:
    """64 workers, one 1000x slower: the optimum leaves it out (m* = 63); asynchronous SGD
    on all 64 has delays up to ~63,000 and its bound is far above Rennala's."""
    tau = speed_pattern("straggler:1000", 64) * 1e-3
    bounds = {b.method: b for b in time_bounds(tau, OBJ)}
    assert rate(tau, OBJ)[1] == 63
    assert bounds["rennala"].workers_used == 63 and bounds["ringmaster"].workers_used == 63
    assert asynchronous_max_delay(tau) == 63 * 1001
    assert bounds["asynchronous"].time > 5 * bounds["rennala"].time
    # minibatch waits for the straggler every round
    assert bounds["minibatch"].time >= bounds["minibatch"].iterations * 1.0


def test_ringmaster_iterations_within_the_papers_count() -> None:
    """At the R chosen, our K is at most the papers' 8 R L Delta/eps + 16 sigma2 L Delta/eps^2
    (the same analysis with the step chosen exactly)."""
    for pattern in ("equal", "linear", "quadratic", "straggler:10", "random:3"):
        tau = speed_pattern(pattern, 16)
        (ring,) = time_bounds(tau, OBJ, ["ringmaster"])
        o = OBJ
        papers = (
            8 * ring.value * o.lsmooth * o.f0 / o.epsilon + 16 * o.sigma2 * o.lsmooth * o.f0 / o.epsilon**2
        )
        assert ring.iterations <= papers


def test_the_bounds_follow_the_papers_rates() -> None:
    """Bound over rate stays within a constant band across hardware 1000x apart: the bounds
    scale like the papers' expressions (here within a factor 40 of them; the constant is ours)."""
    ratios = {m: [] for m in ("minibatch", "ringmaster", "rennala")}
    for pattern in ("equal", "linear", "quadratic", "straggler:1000"):
        for n in (1, 4, 32):
            for b in time_bounds(speed_pattern(pattern, n), OBJ, list(ratios)):
                ratios[b.method].append(b.time / b.rate)
    for method, values in ratios.items():
        assert min(values) >= 1.0 and max(values) <= 40.0, (method, min(values), max(values))
        assert max(values) / min(values) < 6.0, method


def test_noise_free_needs_no_batch() -> None:
    """sigma2 = 0: no batch helps, Rennala takes S = 1 and one worker's speed."""
    o = Objective(1.0, 0.0, 1.0, 0.01)
    (ren,) = time_bounds([1.0, 2.0, 3.0], o, ["rennala"])
    assert ren.value == 1 and ren.workers_used == 1


def test_speed_patterns_and_errors() -> None:
    assert speed_pattern("linear", 3).tolist() == [1.0, 2.0, 3.0]
    assert speed_pattern("quadratic", 3).tolist() == [1.0, 4.0, 9.0]
    assert speed_pattern("random:5", 4).tolist() == speed_pattern("random:5", 4).tolist()
    assert speed_pattern("random:5", 4).min() >= 1.0
    for bad in ("nope", "straggler:0.5", "straggler:x", "linear:nan"):
        with pytest.raises(ValueError):
            speed_pattern(bad, 3)
    for bad_tau in ([], [0.0], [1.0, math.inf], [-1.0]):
        with pytest.raises(ValueError):
            time_bounds(bad_tau, OBJ)
    with pytest.raises(ValueError, match="methods must be among"):
        time_bounds([1.0], OBJ, ["hogwild"])
    with pytest.raises(ValueError, match="epsilon"):
        Objective(1.0, 1.0, 1.0, 0.0)
