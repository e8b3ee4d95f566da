"""What a Trace says: updates, throughput, the staleness pmf, CAS statistics.

One definition of each, used for simulated and real runs alike:

* **throughput** -- applied updates per second from the start of the run to its last
  publish, ``updates / max(t_apply)`` (times are seconds from the run's start, so the
  warm-up of the first gradients counts, as it does for a user waiting on the run);
* **staleness pmf** -- the normalized histogram of ``tau`` over applied updates;
* **CAS failures** -- attempts beyond the successful one: ``sum(attempts) - updates``
  (a dropped gradient's attempts all failed); the failure rate is per computed gradient.

>>> from theory.trace import Trace
>>> t = Trace.from_columns(worker=[0, 1, 0], read_version=[0, 0, 1], apply_version=[1, 2, -1],
...                        t_read=[0.0, 0.0, 1.0], t_grad_done=[1.0, 1.5, 2.0],
...                        t_apply=[1.0, 2.0, 2.5], attempts=[1, 1, 2], step_size=[0.1] * 3)
>>> throughput(t), staleness_pmf(t), cas_statistics(t)["failures"]
(1.0, {0: 0.5, 1: 0.5}, 2)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory.trace import Trace

__all__ = ["cas_statistics", "staleness_pmf", "summarize", "throughput"]


def _applied_t_apply(trace: Trace) -> np.ndarray:
    table = trace.table
    return table["t_apply"].to_numpy()[~table["dropped"].to_numpy()]


def throughput(trace: Trace) -> float:
    """Applied updates per second of (simulated or wall-clock) time: ``updates / max(t_apply)``.

    NaN when nothing was applied or the last publish is at time 0.
    """
    t_apply = _applied_t_apply(trace)
    end = float(t_apply.max()) if t_apply.size else 0.0
    return t_apply.size / end if end > 0 else float("nan")


def staleness_pmf(trace: Trace) -> dict[int, float]:
    """``{tau: P(tau)}`` over the applied updates, for the values that occur."""
    tau = trace.staleness()
    counts = np.bincount(tau) if tau.size else np.zeros(0, dtype=np.int64)
    return {int(k): float(c / tau.size) for k, c in enumerate(counts) if c}


def cas_statistics(trace: Trace) -> dict[str, Any]:
    """Failed CAS attempts (total and per gradient) and the histogram of attempts per gradient."""
    table = trace.table
    attempts = table["attempts"].to_numpy()
    updates = int((~table["dropped"].to_numpy()).sum())
    failures = int(attempts.sum()) - updates
    hist = np.bincount(attempts) if attempts.size else np.zeros(0, dtype=np.int64)
    return {
        "failures": failures,
        "failure_rate": failures / attempts.size if attempts.size else float("nan"),
        "attempts_hist": {int(k): int(c) for k, c in enumerate(hist) if c},
    }


def summarize(trace: Trace) -> dict[str, Any]:
    """Gradients, updates, duration, throughput, staleness, CAS statistics and drops."""
    table = trace.table
    tau = trace.staleness()
    t_apply = _applied_t_apply(trace)
    cas = cas_statistics(trace)
    return {
        "gradients": len(table),
        "updates": int(t_apply.size),
        "duration": float(t_apply.max()) if t_apply.size else 0.0,
        "throughput": throughput(trace),
        "tau_mean": float(tau.mean()) if tau.size else float("nan"),
        "tau_pmf": staleness_pmf(trace),
        "cas_failures": cas["failures"],
        "cas_failure_rate": cas["failure_rate"],
        "cas_attempts_hist": cas["attempts_hist"],
        "dropped": int(table["dropped"].sum()),
    }
