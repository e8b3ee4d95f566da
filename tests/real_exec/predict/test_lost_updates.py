"""HOGWILD!'s lost updates: which writes overlap, what a probe measures, what the replay drops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import real_exec.study.predict.forecast as forecast_module
from real_exec.executor.machine import usable_cores
from real_exec.executor.problems import make_problem
from real_exec.study.predict.forecast import calibrate_here
from real_exec.study.predict.lost_updates import (
    LostUpdates,
    lost_stretch,
    measure_lost_updates,
    overlapping_writes,
)
from real_exec.study.predict.replay import replay
from tests.real_exec.predict.hand_made import A, B, hand_quadratic, hand_schedule
from theory.trace import Trace

WRITES = st.lists(
    st.tuples(st.integers(0, 50), st.integers(1, 10), st.booleans()),  # start, length, dropped
    min_size=1,
    max_size=30,
)


def _trace(writes: list[tuple[float, float, bool]]) -> Trace:
    n = len(writes)
    return Trace.from_columns(
        worker=np.arange(n) % 3,
        read_version=np.zeros(n, dtype=np.int64),
        apply_version=[-1 if dropped else k + 1 for k, (_, _, dropped) in enumerate(writes)],
        t_read=[0.0] * n,
        t_grad_done=[float(s) for s, _, _ in writes],
        t_apply=[float(e) for _, e, _ in writes],
        attempts=[1] * n,
        step_size=[0.1] * n,
    )


@settings(max_examples=200, deadline=None)
@given(WRITES)
def test_overlapping_writes_agrees_with_comparing_every_pair(writes) -> None:
    # Integer endpoints make touching and nested intervals common; touching is no overlap.
    spans = [(s, s + length, dropped) for s, length, dropped in writes]
    flags = overlapping_writes(_trace(spans))
    for i, (s, e, dropped) in enumerate(spans):
        expected = not dropped and any(
            j != i and not d and s2 < e and s < e2 for j, (s2, e2, d) in enumerate(spans)
        )
        assert flags[i] == expected


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 500), st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_a_lost_stretch_is_that_fraction_of_consecutive_coordinates(dim, fraction, seed) -> None:
    lost = lost_stretch(np.random.default_rng(seed), dim, fraction)
    assert lost.size == round(fraction * dim)
    assert np.all((lost >= 0) & (lost < dim)) and np.unique(lost).size == lost.size
    assert np.all(np.diff(lost) % dim == 1)  # consecutive, wrapping around the end


def test_the_loss_per_overlapping_write_is_the_share_over_the_overlapping_fraction() -> None:
    assert LostUpdates(0.02, 0.5).per_overlap == pytest.approx(0.04)
    assert LostUpdates(0.02, 0.0).per_overlap == 0.0  # nothing overlapped: nothing to attribute
    assert LostUpdates(0.9, 0.5).per_overlap == 1.0  # clipped
    assert LostUpdates(-1e-6, 0.5).per_overlap == 0.0  # rounding below zero


def test_an_overlapping_write_that_loses_everything_changes_nothing() -> None:
    # The replay test's schedule with updates 4 and 5 written at overlapping times
    # ([3.2, 3.55] and [3.5, 3.6]): with lost_on_overlap = 1 both are lost whole, so the
    # final parameters are version 3, exactly; with 0 the replay is the plain one.
    trace = hand_schedule(t_apply=(1.0, 1.8, 2.0, 3.55, 3.6, 4.0))
    x = np.array([1.0, 1.0, 1.0])
    versions = [x]
    for read in (0, 0, 1):
        versions.append(versions[-1] - 0.1 * (A @ versions[read] - B))
    lost = replay(trace, hand_quadratic(), 0.1, lost_on_overlap=1.0)
    np.testing.assert_array_equal(lost.params, versions[3])
    assert lost.updates == 5  # lost updates still count as updates made
    plain = replay(trace, hand_quadratic(), 0.1)
    nothing_lost = replay(trace, hand_quadratic(), 0.1, lost_on_overlap=0.0)
    np.testing.assert_array_equal(nothing_lost.params, plain.params)
    assert not np.array_equal(plain.params, versions[3])


def test_a_partly_lost_write_keeps_the_old_value_on_one_stretch() -> None:
    # Dimension 3, lost_on_overlap 1/3: each of the two overlapping updates loses exactly one
    # coordinate, so the final parameters differ from the plain replay's in one or two
    # coordinates (two losing the same one) and agree in the rest. From x = (2, 1, 1) both
    # gradients, A x - b = (1, 3, 2.5), move every coordinate.
    trace = Trace.from_columns(
        worker=[0, 1],
        read_version=[0, 0],
        apply_version=[1, 2],
        t_read=[0.0, 0.0],
        t_grad_done=[1.0, 1.05],
        t_apply=[1.1, 1.2],
        attempts=[1, 1],
        step_size=[0.1, 0.1],
    )
    x = np.array([2.0, 1.0, 1.0])
    plain = replay(trace, hand_quadratic(), 0.1, initial=x).params
    for seed in range(5):
        partly = replay(trace, hand_quadratic(), 0.1, lost_on_overlap=1 / 3, seed=seed, initial=x).params
        assert 1 <= int(np.sum(partly != plain)) <= 2


def test_a_single_thread_loses_nothing() -> None:
    problem = make_problem("logreg", np.random.default_rng(0))
    lost = measure_lost_updates(problem, 1, 0.3, 0.05)
    assert lost.overlapping == 0.0 and lost.per_overlap == 0.0
    assert abs(lost.share) < 1e-9  # one writer: every step lands (float64 rounding aside)


@pytest.mark.skipif(usable_cores() < 2, reason="two threads need two cores to write at once")
def test_two_real_threads_overlap_their_writes_and_the_probe_says_how_much() -> None:
    # digits-mlp's write of its 9,610 parameters takes microseconds, about a tenth of a
    # gradient: two HOGWILD! threads on two cores overlap a share of their writes well above
    # zero (every 2-thread run measured here), and lose a share of their steps in [0, 1]
    # (collisions on a coordinate are rare: the share may be 0 in a short run).
    problem = make_problem("digits-mlp", np.random.default_rng(0))
    lost = measure_lost_updates(problem, 2, 0.3, 0.05)
    assert 0.0 < lost.overlapping <= 1.0
    assert 0.0 <= lost.share <= 1.0
    assert lost.per_overlap == pytest.approx(min(1.0, lost.share / lost.overlapping))


def test_only_hogwild_calibrations_probe_lost_updates(monkeypatch) -> None:
    probed = []

    def probe(problem, threads, seconds, eta):
        probed.append((threads, seconds))
        return LostUpdates(0.03, 0.5)

    monkeypatch.setattr(forecast_module, "measure_lost_updates", probe)
    monkeypatch.setattr(forecast_module, "usable_cores", lambda: 4)
    problem = make_problem("logreg", np.random.default_rng(0))
    hog = calibrate_here(
        problem, "hogwild", 1, eta=0.05, seconds=0.3, predict_threads=8, contention_seconds=0
    )
    assert hog.lost_on_overlap == pytest.approx(0.06) and probed == [(4, 0.3)]  # one thread per core
    lock = calibrate_here(problem, "lock", 2, eta=0.05, seconds=0.3)
    off = calibrate_here(problem, "hogwild", 2, eta=0.05, seconds=0.3, lost_update_seconds=0)
    alone = calibrate_here(problem, "hogwild", 1, eta=0.05, seconds=0.3)
    assert lock.lost_on_overlap == off.lost_on_overlap == alone.lost_on_overlap == 0.0
    assert probed == [(4, 0.3)]
