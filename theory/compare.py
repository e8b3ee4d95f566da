"""Compare two Traces (simulated or real): staleness, throughput, contention, drops.

Every number comes from :mod:`theory.analysis` (one definition of throughput and of CAS
failures) and :mod:`theory.fitting` (TV, W1, the G-test of homogeneity).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from theory.analysis import summarize
from theory.fitting import homogeneity, total_variation, wasserstein1
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


def compare_traces(a: Trace, b: Trace) -> Comparison:
    """Staleness pmfs (TV, W1, G-test), throughput ratio b/a, CAS failure rates, drops."""
    ta, tb = a.staleness(), b.staleness()
    if ta.size == 0 or tb.size == 0:
        raise ValueError("both traces need applied updates to compare")
    pa, pb = Empirical.from_samples(ta), Empirical.from_samples(tb)
    g, p = homogeneity(ta, tb)
    sa, sb = summarize(a), summarize(b)
    thr_a, thr_b = sa["throughput"], sb["throughput"]
    return Comparison(
        tv=total_variation(pa, pb),
        w1=wasserstein1(pa, pb),
        g_statistic=g,
        p_value=p,
        throughput_a=thr_a,
        throughput_b=thr_b,
        throughput_ratio=thr_b / thr_a if thr_a > 0 else float("nan"),
        cas_failure_rate={"a": sa["cas_failure_rate"], "b": sb["cas_failure_rate"]},
        dropped={"a": sa["dropped"], "b": sb["dropped"]},
        tau_mean={"a": sa["tau_mean"], "b": sb["tau_mean"]},
    )
