"""Compare two Traces (simulated or real): staleness, throughput, contention, memory."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from staleness_sim.result import summarize
from theory.fitting import total_variation, wasserstein1
from theory.staleness import Empirical
from theory.trace import Trace

__all__ = ["Comparison", "compare_traces"]


@dataclass(frozen=True)
class Comparison:
    """How trace B (e.g. simulated) differs from trace A (e.g. real)."""

    tv: float
    w1: float
    g_statistic: float
    p_value: float
    throughput_a: float
    throughput_b: float
    throughput_ratio: float
    cas_failure_rate: dict[str, float]
    dropped: dict[str, int]
    tau_mean: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _homogeneity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """G-test that two staleness samples share a distribution (bins pooled to >= 5 expected)."""
    top = int(max(a.max(), b.max()))
    ca, cb = np.bincount(a, minlength=top + 1), np.bincount(b, minlength=top + 1)
    rows: list[list[int]] = []
    acc = np.zeros(2)
    for x, y in zip(ca, cb, strict=True):
        acc += (x, y)
        if acc.min() >= 5:
            rows.append([int(acc[0]), int(acc[1])])
            acc = np.zeros(2)
    if rows:
        rows[-1][0] += int(acc[0])
        rows[-1][1] += int(acc[1])
    if len(rows) < 2:
        return 0.0, 1.0
    g, p, _, _ = stats.chi2_contingency(np.array(rows), lambda_="log-likelihood")
    return float(g), float(p)


def _throughput(trace: Trace) -> float:
    t = trace.table
    applied = t[~t["dropped"]]
    if len(applied) < 2:
        return float("nan")
    # Rate over the steady part: from the first to the last publish.
    span = float(applied["t_apply"].max() - applied["t_apply"].min())
    return (len(applied) - 1) / span if span > 0 else float("nan")


def compare_traces(a: Trace, b: Trace) -> Comparison:
    """Staleness pmfs (TV, W1, G-test), throughput ratio b/a, CAS failure rates, drops."""
    ta, tb = a.staleness(), b.staleness()
    if ta.size == 0 or tb.size == 0:
        raise ValueError("both traces need applied updates to compare")
    pa, pb = Empirical.from_samples(ta), Empirical.from_samples(tb)
    g, p = _homogeneity(ta, tb)
    sa, sb = summarize(a), summarize(b)
    thr_a, thr_b = _throughput(a), _throughput(b)
    return Comparison(
        tv=total_variation(pa, pb),
        w1=wasserstein1(pa, pb),
        g_statistic=g,
        p_value=p,
        throughput_a=thr_a,
        throughput_b=thr_b,
        throughput_ratio=thr_b / thr_a if thr_a > 0 else float("nan"),
        cas_failure_rate={
            "a": sa["cas_failures"] / sa["gradients"],
            "b": sb["cas_failures"] / sb["gradients"],
        },
        dropped={"a": sa["dropped"], "b": sb["dropped"]},
        tau_mean={"a": sa["tau_mean"], "b": sb["tau_mean"]},
    )
