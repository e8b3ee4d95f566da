"""Leashed-SGD's CAS window (the profile's ``cas_window``): the part of a publish attempt
during which another publish makes its CAS fail.

A real run of compiled worker loops exposes its whole attempt: the attempt holds the latest
version first thing and installs it last (``real_exec.executor.pool.build``), so any publish
landing during it fails it (:func:`calibrated_cas_window`). An attempt of an interpreted
loop also contained work that did not depend on the latest version (the interpreter between
kernels, the pool's slot search); there the window is the fraction that explains the
measured failures (:func:`cas_window`), and under the interpreter lock, where the workers'
attempts overlap less than independent ones would, it is found by simulation
(:func:`fit_cas_window`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from real_exec.study.interpreter_lock import interpreted_loop
from staleness_sim.config import SimConfig
from staleness_sim.engines import simulate
from staleness_sim.profile import HardwareProfile
from theory.analysis import cas_statistics, throughput
from theory.trace import Trace

__all__ = ["calibrated_cas_window", "cas_window", "fit_cas_window"]


def calibrated_cas_window(trace: Trace, algo: str, publish_mean: float) -> float:
    """The window a calibration gives ``trace``: 1 for real runs of compiled loops (see the
    module docstring) and for algorithms without a CAS; else :func:`cas_window` from the
    failed attempts (interpreted loops, or a Trace whose window is not known; ``publish_mean``:
    the mean publish attempt)."""
    if algo != "leashed" or (trace.meta.get("source") == "real" and not interpreted_loop(trace)):
        return 1.0
    return cas_window(trace, publish_mean)


def cas_window(trace: Trace, publish_mean: float) -> float:
    """The fraction ``f`` of a publish attempt (mean ``publish_mean`` seconds) exposed to other
    workers' publishes, from the Trace's failed attempts.

    The other ``m - 1`` workers publish at rate ``lambda = X (m - 1) / m`` (``X``: the run's
    throughput); treating their publishes as a Poisson stream, an attempt whose window lasts
    ``w = f * publish_mean`` fails with probability ``p = 1 - exp(-lambda w)``. With ``p`` the
    measured failures per attempt::

        f = -ln(1 - p) / (lambda * publish_mean),   clipped to [0, 1]

    1 (the whole attempt exposed) when nothing can be learned: one worker, no attempts, no
    publish rate.
    """
    attempts = trace.table["attempts"].to_numpy()
    workers = int(trace.meta.get("workers", trace.table["worker"].nunique()))
    total = float(attempts.sum())
    rate = throughput(trace) * (workers - 1) / workers
    if workers < 2 or total <= 0 or not rate > 0 or not publish_mean > 0:
        return 1.0
    p = cas_statistics(trace)["failures"] / total
    if p >= 1.0:
        return 1.0
    return float(np.clip(-np.log1p(-p) / (rate * publish_mean), 0.0, 1.0))


def fit_cas_window(trace: Trace, profile: HardwareProfile, steps: int = 5, seed: int = 0) -> float:
    """The CAS window with which ``profile`` simulates as many failed attempts as ``trace``
    has: bisection on ``[0, 1]`` (``steps`` simulations of the run's length, so within
    ``2 ** -steps``), the simulated failures growing with the window. For profiles whose
    workers couple through more than the publishes (the interpreter lock), where the
    Poisson argument of :func:`cas_window` does not hold."""
    meta = trace.meta
    target = cas_statistics(trace)["failures"]
    lo, hi = 0.0, 1.0
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        config = SimConfig(
            "leashed",
            int(meta.get("workers", trace.table["worker"].nunique())),
            replace(profile, cas_window=mid),
            len(trace),
            seed=seed,
            persistence=meta.get("persistence"),
        )
        summary = simulate(config).summary()
        if summary["cas_failures"] > target:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)
