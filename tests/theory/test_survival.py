"""Kaplan-Meier quantiles and speed-ups against hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from theory.survival import km_quantile, km_summary, speedup_interval


def test_kaplan_meier_median_by_hand() -> None:
    # Times 2, 3+, 5, 6, 8+, 9 (+ = censored: did not reach the target by then).
    # At risk / events: t=2: 6 at risk, S = 5/6; t=3 censored (4 left); t=5: S = 5/6 * 3/4 = 0.625;
    # t=6: S = 0.625 * 2/3 = 0.41667 <= 0.5, so the median is 6; t=8 censored; t=9: S = 0.
    # Quartiles: F >= 0.25 first at t=5 (F = 0.375); F >= 0.75 first at t=9 (F = 1).
    times = [2.0, 3.0, 5.0, 6.0, 8.0, 9.0]
    reached = [True, False, True, True, False, True]
    assert km_summary(times, reached) == {"median": 6.0, "q25": 5.0, "q75": 9.0}
    # Ignoring the censoring (treating 3+ and 8+ as reached) would give a median of 5.
    assert km_quantile(times, [True] * 6, 0.5) == 5.0


def test_too_many_censored_runs_leave_the_median_unknown() -> None:
    # Two of four reached the target, at 1 and 2; two were censored at the budget 10:
    # S(1) = 3/4, S(2) = 3/4 * 2/3 = 1/2, so the median is 2.
    assert km_quantile([1.0, 2.0, 10.0, 10.0], [True, True, False, False], 0.5) == 2.0
    # One of four reached it: S stays at 3/4, the median time is not known (infinite).
    assert math.isinf(km_quantile([1.0, 10.0, 10.0, 10.0], [True, False, False, False], 0.5))
    assert math.isinf(km_quantile([10.0, 10.0], [False, False], 0.5))


def test_speedup_of_twice_as_fast_runs() -> None:
    # Paired runs, the second cell exactly twice as fast on every seed: ratio 2 in every
    # bootstrap resample, so the interval collapses onto 2.
    base = np.array([2.0, 4.0, 6.0, 8.0, 10.0])
    point, low, high = speedup_interval((base, [True] * 5), (base / 2, [True] * 5), paired=True)
    assert point == pytest.approx(2.0) and low == pytest.approx(2.0) and high == pytest.approx(2.0)
    # Unpaired, the interval is wide but contains the point.
    point, low, high = speedup_interval((base, [True] * 5), (base / 2, [True] * 5), paired=False)
    assert low <= point <= high and point == pytest.approx(2.0)
