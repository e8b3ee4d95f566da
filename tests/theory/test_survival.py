"""Kaplan-Meier quantiles and speed-ups against hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from theory.survival import km_quantile, km_summary, logrank_pvalue, speedup_interval


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


def _logrank_by_hand(a: tuple[list[float], list[bool]], b: tuple[list[float], list[bool]]) -> float:
    """The textbook log-rank test: at each distinct event time, observed minus expected events
    of the first sample and the hypergeometric variance; chi-square with one degree of freedom."""
    times = np.concatenate([a[0], b[0]])
    event = np.concatenate([a[1], b[1]]).astype(bool)
    first = np.r_[np.ones(len(a[0]), bool), np.zeros(len(b[0]), bool)]
    o_minus_e = var = 0.0
    for t in np.unique(times[event]):
        at_risk = times >= t
        n, n1 = at_risk.sum(), (at_risk & first).sum()
        d = (event & (times == t)).sum()
        d1 = (event & (times == t) & first).sum()
        o_minus_e += d1 - d * n1 / n
        if n > 1:
            var += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return float(stats.chi2.sf(o_minus_e**2 / var, 1)) if var > 0 else float("nan")


@given(
    st.lists(st.tuples(st.integers(1, 20), st.booleans()), min_size=2, max_size=12),
    st.lists(st.tuples(st.integers(1, 20), st.booleans()), min_size=2, max_size=12),
)
@settings(max_examples=60, deadline=None)
def test_logrank_matches_the_textbook_test_with_censoring(
    xa: list[tuple[int, bool]], xb: list[tuple[int, bool]]
) -> None:
    a = ([float(t) for t, _ in xa], [r for _, r in xa])
    b = ([float(t) for t, _ in xb], [r for _, r in xb])
    if not any(a[1] + b[1]):
        assert np.isnan(logrank_pvalue(a, b))
        return
    expected = _logrank_by_hand(a, b)
    if np.isnan(expected):  # zero variance (e.g. all events at one time in one sample): no test
        return
    assert logrank_pvalue(a, b) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_a_speedup_whose_resamples_lose_the_median_is_nan_without_a_warning() -> None:
    # Two of four base runs censored: resamples with three censored runs have no median,
    # so the interval is NaN (documented) -- and scipy's DegenerateDataWarning about it is
    # not passed on to the user (the suite turns RuntimeWarnings into errors).
    base = ([1.0, 2.0, 10.0, 10.0], [True, True, False, False])
    other = ([0.5, 1.0, 1.5, 2.0], [True] * 4)
    point, low, high = speedup_interval(base, other, paired=True)
    assert np.isfinite(point) and np.isnan(low) and np.isnan(high)
