"""Time to a target with censoring: Kaplan-Meier quantiles and bootstrap speed-ups.

A run that did not reach its target within the budget is right-censored at the budget: all
we know is that its time to target exceeds it. The Kaplan-Meier estimate of the distribution
of the time to target (``scipy.stats.ecdf`` on ``scipy.stats.CensoredData``) uses those runs
without pretending they reached the target at the budget. Its ``q``-quantile is the first time
``t`` with ``F(t) >= q``; when fewer than a fraction ``q`` of the runs can be said to have
reached the target, the quantile is infinite (the budget was too short to tell).

>>> km_quantile([1.0, 2.0, 3.0, 4.0, 5.0], [True, False, True, True, False], 0.5)
4.0
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "censor",
    "km_quantile",
    "km_summary",
    "logrank_pvalue",
    "outcome_summary",
    "ratio_interval",
    "same_distribution_pvalue",
    "speedup_interval",
]


def km_quantile(times: npt.ArrayLike, reached: npt.ArrayLike, q: float) -> float:
    """The ``q``-quantile of the Kaplan-Meier estimate; ``inf`` if it never gets to ``q``.

    ``times[i]`` is run i's time to target if ``reached[i]``, else its censoring time (the
    budget).
    """
    t = np.asarray(times, dtype=np.float64)
    hit = np.asarray(reached, dtype=bool)
    if t.size == 0 or not hit.any():
        return float("inf")
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q}")
    cdf = stats.ecdf(_censored(t, hit)).cdf
    above = np.flatnonzero(cdf.probabilities >= q - 1e-12)
    return float(cdf.quantiles[above[0]]) if above.size else float("inf")


def km_summary(times: npt.ArrayLike, reached: npt.ArrayLike) -> dict[str, float]:
    """Median and quartiles of the time to target (Kaplan-Meier)."""
    return {
        "median": km_quantile(times, reached, 0.5),
        "q25": km_quantile(times, reached, 0.25),
        "q75": km_quantile(times, reached, 0.75),
    }


def _censored(times: npt.ArrayLike, reached: npt.ArrayLike) -> stats.CensoredData:
    t = np.asarray(times, dtype=np.float64)
    hit = np.asarray(reached, dtype=bool)
    return stats.CensoredData(uncensored=t[hit], right=t[~hit])


def logrank_pvalue(
    a: tuple[Sequence[float], Sequence[bool]], b: tuple[Sequence[float], Sequence[bool]]
) -> float:
    """Two-sided p-value of the log-rank test (``scipy.stats.logrank``) that two sets of
    times to target, each ``(times, reached)`` censored as above, come from one distribution.

    NaN when neither sample has a run that reached the target (nothing to compare).

    >>> round(logrank_pvalue(([1, 2, 3, 4], [True] * 4), ([5, 6, 7, 8], [True] * 4)), 4)
    0.0067
    """
    if not (np.any(a[1]) or np.any(b[1])):
        return float("nan")
    return float(stats.logrank(_censored(*a), _censored(*b)).pvalue)


def speedup_interval(
    base: tuple[Sequence[float], Sequence[bool]],
    other: tuple[Sequence[float], Sequence[bool]],
    paired: bool,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Speed-up of ``other`` over ``base``: the ratio of their Kaplan-Meier median times to
    target, with a percentile bootstrap interval (``scipy.stats.bootstrap``, 999 resamples).

    ``paired``: the i-th runs of both share a seed, and are resampled together. NaN where a
    median is infinite (a resample in which half the runs did not reach the target gives no
    ratio; the interval is then NaN too).
    """

    def ratio(bt: npt.NDArray, br: npt.NDArray, ot: npt.NDArray, orr: npt.NDArray) -> float:
        a, b = km_quantile(bt, br, 0.5), km_quantile(ot, orr, 0.5)
        return a / b if np.isfinite(a) and np.isfinite(b) and b > 0 else float("nan")

    bt, br = np.asarray(base[0], dtype=float), np.asarray(base[1], dtype=bool)
    ot, orr = np.asarray(other[0], dtype=float), np.asarray(other[1], dtype=bool)
    point = ratio(bt, br, ot, orr)
    if not np.isfinite(point) or min(bt.size, ot.size) < 2:
        return point, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():  # NaN resamples make a NaN interval, as documented above
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = _bootstrap(bt, br, ot, orr, ratio, paired, confidence, rng)
    low, high = res.confidence_interval
    return point, float(low), float(high)


def _bootstrap(
    bt: npt.NDArray,
    br: npt.NDArray,
    ot: npt.NDArray,
    orr: npt.NDArray,
    ratio: Any,
    paired: bool,
    confidence: float,
    rng: np.random.Generator,
) -> Any:
    """``scipy.stats.bootstrap`` of ``ratio``, resampling the runs together when ``paired``."""
    if paired:
        return stats.bootstrap(
            (bt, br, ot, orr),
            ratio,
            paired=True,
            vectorized=False,
            n_resamples=999,
            confidence_level=confidence,
            method="percentile",
            random_state=rng,
        )
    return stats.bootstrap(
        (np.arange(bt.size), np.arange(ot.size)),
        lambda i, j: ratio(bt[i], br[i], ot[j], orr[j]),
        vectorized=False,
        n_resamples=999,
        confidence_level=confidence,
        method="percentile",
        random_state=rng,
    )


# Repetitions' outcomes: dicts with ``reached`` (bool) and ``time_to_target`` (seconds),
# as forecasts and measurements of time to target record them.


def censor(outcomes: Sequence[Mapping[str, Any]], budget: float) -> tuple[list[float], list[bool]]:
    """``(times, reached)``: each outcome's time to target, or ``budget`` (censored) where the
    target was not reached.

    >>> censor([{"reached": True, "time_to_target": 1.5}, {"reached": False}], 10.0)
    ([1.5, 10.0], [True, False])
    """
    times = [float(r["time_to_target"]) if r["reached"] else budget for r in outcomes]
    return times, [bool(r["reached"]) for r in outcomes]


def outcome_summary(outcomes: Sequence[Mapping[str, Any]], budget: float) -> dict[str, float]:
    """Kaplan-Meier median and quartiles of the outcomes' times to target (censored at
    ``budget``) and the fraction that reached it."""
    times, reached = censor(outcomes, budget)
    km = km_summary(times, reached)
    return {
        "time_to_target_median": km["median"],
        "q25": km["q25"],
        "q75": km["q75"],
        "reached_fraction": float(np.mean(reached)),
    }


def same_distribution_pvalue(
    a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]], budget: float
) -> float:
    """Log-rank p-value that two sets of outcomes (censored at ``budget``) come from one
    distribution of time to target (:func:`logrank_pvalue`)."""
    return logrank_pvalue(censor(a, budget), censor(b, budget))


def ratio_interval(
    a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]], budget: float, confidence: float = 0.95
) -> tuple[float, float]:
    """Bootstrap interval of ``a``'s median time to target over ``b``'s (independent resamples
    of both, :func:`speedup_interval`): how far the ratio moves from the spread alone."""
    _, low, high = speedup_interval(censor(a, budget), censor(b, budget), paired=False, confidence=confidence)
    return low, high
