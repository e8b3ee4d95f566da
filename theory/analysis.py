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

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from theory.trace import Trace

__all__ = ["Tally", "cas_statistics", "coupling", "rate_swings", "staleness_pmf", "summarize", "throughput"]


@dataclass
class Tally:
    """What a summary needs of a Trace, accumulated over its rows in any number of chunks:
    counts, the last publish, and the staleness and attempts histograms.

    A Trace's summary is :meth:`summary` of its tally (:func:`summarize`); a long simulation
    that keeps no Trace tallies its rows chunk by chunk (:meth:`add`) and gets the same
    numbers, since every one of them is a count, a sum of integers or a maximum.
    """

    gradients: int = 0
    updates: int = 0
    end: float = 0.0  # the last publish of an applied update
    tau_counts: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    attempts_counts: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def of(cls, trace: Trace) -> Tally:
        """The tally of a whole Trace."""
        t = trace.table
        return cls().add(t["tau"].to_numpy(), t["attempts"].to_numpy(), t["t_apply"].to_numpy())

    def add(self, tau: npt.NDArray[Any], attempts: npt.NDArray[Any], t_apply: npt.NDArray[Any]) -> Tally:
        """Count rows given by three columns (``tau`` -1 marks a dropped gradient); returns self."""
        shifted = np.bincount(np.asarray(tau) + 1)  # index 0: the dropped rows
        self.tau_counts = _add_counts(self.tau_counts, shifted[1:])
        self.attempts_counts = _add_counts(self.attempts_counts, np.bincount(attempts))
        self.gradients += int(tau.size)
        dropped = int(shifted[0]) if shifted.size else 0
        self.updates += int(tau.size) - dropped
        applied_end = np.max(t_apply, where=np.asarray(tau) >= 0, initial=0.0)
        self.end = max(self.end, float(applied_end))
        return self

    @property
    def dropped(self) -> int:
        return self.gradients - self.updates

    @property
    def throughput(self) -> float:
        """Applied updates per second: ``updates / end``; NaN without an applied update or at time 0."""
        return self.updates / self.end if self.end > 0 else float("nan")

    @property
    def tau_mean(self) -> float:
        total = int(np.dot(np.arange(self.tau_counts.size), self.tau_counts))
        return total / self.updates if self.updates else float("nan")

    def staleness_pmf(self) -> dict[int, float]:
        """``{tau: P(tau)}`` over the applied updates, for the values that occur."""
        return {int(k): float(c / self.updates) for k, c in enumerate(self.tau_counts) if c}

    def cas_statistics(self) -> dict[str, Any]:
        """Failed CAS attempts (total and per gradient) and the histogram of attempts per gradient."""
        attempts = int(np.dot(np.arange(self.attempts_counts.size), self.attempts_counts))
        failures = attempts - self.updates
        return {
            "failures": failures,
            "failure_rate": failures / self.gradients if self.gradients else float("nan"),
            "attempts_hist": {int(k): int(c) for k, c in enumerate(self.attempts_counts) if c},
        }

    def summary(self) -> dict[str, Any]:
        """Gradients, updates, duration, throughput, staleness, CAS statistics and drops."""
        cas = self.cas_statistics()
        return {
            "gradients": self.gradients,
            "updates": self.updates,
            "duration": self.end if self.updates else 0.0,
            "throughput": self.throughput,
            "tau_mean": self.tau_mean,
            "tau_pmf": self.staleness_pmf(),
            "cas_failures": cas["failures"],
            "cas_failure_rate": cas["failure_rate"],
            "cas_attempts_hist": cas["attempts_hist"],
            "dropped": self.dropped,
        }


def _add_counts(a: npt.NDArray[np.int64], b: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    if b.size > a.size:
        a, b = b.astype(np.int64), a
    else:
        a = a.copy()
    a[: b.size] += b
    return a


def throughput(trace: Trace) -> float:
    """Applied updates per second of (simulated or wall-clock) time: ``updates / max(t_apply)``.

    NaN when nothing was applied or the last publish is at time 0.
    """
    return Tally.of(trace).throughput


def staleness_pmf(trace: Trace) -> dict[int, float]:
    """``{tau: P(tau)}`` over the applied updates, for the values that occur."""
    return Tally.of(trace).staleness_pmf()


def cas_statistics(trace: Trace) -> dict[str, Any]:
    """Failed CAS attempts (total and per gradient) and the histogram of attempts per gradient."""
    return Tally.of(trace).cas_statistics()


def coupling(trace: Trace) -> float | None:
    """Measured mean staleness over the mean staleness of independent workers with the same
    publish rates and the same read-to-publish windows (``None`` with fewer than two workers
    or no window).

    While update ``k`` of worker ``w_k`` is under way (``t_read`` to ``t_apply``), the others
    publish at their rates ``r_j = n_j / T`` (``T`` from the first read to the last publish);
    workers that do not influence each other's timing (renewal processes, the simulator's
    HOGWILD! workers) see on average ``sum_{j != w_k} r_j (t_apply,k - t_read,k)`` of those
    publishes, so the ratio is about 1. Below 1 the workers' publishes fall together (a
    convoy: another's publish lands between a worker's publish and its next read, and is
    counted by no one); above 1 they avoid each other. It only measures HOGWILD!-like
    coupling: a lock or a CAS couples workers on purpose, and the simulator models that.
    """
    t = trace.applied()
    if t["worker"].nunique() < 2:
        return None
    span = float(t["t_apply"].max() - t["t_read"].min())
    windows = (t["t_apply"] - t["t_read"]).to_numpy(dtype=np.float64)
    counts = t["worker"].value_counts()
    others = (len(t) - t["worker"].map(counts).to_numpy(dtype=np.float64)) / span
    independent = float(np.mean(others * windows))
    return float(t["tau"].mean()) / independent if independent > 0 else None


def rate_swings(
    trace: Trace, window: float = 0.05, swing: float = 1.5, per_window: float = 20
) -> float | None:
    """The share of a run's windows in which some worker computed at least ``swing`` times
    its own mean number of gradients per window (``None`` with fewer than two workers or
    four windows).

    Gradients are counted where they end (``t_grad_done``, dropped ones included) in
    consecutive windows from the first read; a window lasts ``window`` seconds, or longer
    where the slowest worker would otherwise compute fewer than ``per_window`` gradients in
    one, so that a count's own variation stays well below ``swing``. Workers that share
    cores evenly keep their rates; a worker that gets a core to itself for a while (with
    four threads on two cores, Linux's load balancer putting three on one core and one on
    the other) computes about twice its mean rate then, and its window counts.

    Two workers, one gradient each per second; then worker 0 computes two more in the fourth
    second (8 whole windows: its mean rises to 10/8 per window, and 3 is 1.5 times that or more):

    >>> def trace(worker, done):
    ...     n = len(done)
    ...     return Trace.from_columns(worker=worker, read_version=[0] * n, apply_version=range(1, n + 1),
    ...                               t_read=[0.0] * n, t_grad_done=done, t_apply=done,
    ...                               attempts=[1] * n, step_size=[0.1] * n)
    >>> even = [k + 0.5 for k in range(9)]
    >>> rate_swings(trace([0] * 9 + [1] * 9, even + even), window=1.0, per_window=1)
    0.0
    >>> rate_swings(trace([0] * 11 + [1] * 9, even + [3.2, 3.8] + even), window=1.0, per_window=1)
    0.125
    """
    table = trace.table
    workers, done = table["worker"].to_numpy(), table["t_grad_done"].to_numpy(dtype=np.float64)
    ids, column = np.unique(workers, return_inverse=True)
    if ids.size < 2:
        return None
    start = float(table["t_read"].min())
    span = float(done.max()) - start
    if not span > 0:
        return None
    slowest = float(np.bincount(column).min()) / span  # gradients per second
    length = max(window, per_window / slowest)
    windows = int(span // length)
    if windows < 4:
        return None
    slot = np.floor((done - start) / length).astype(np.int64)
    inside = slot < windows
    counts = np.bincount(slot[inside] * ids.size + column[inside], minlength=windows * ids.size)
    counts = counts.reshape(windows, ids.size).astype(np.float64)
    swung = (counts >= swing * counts.mean(axis=0)).any(axis=1)
    return float(swung.mean())


def summarize(trace: Trace) -> dict[str, Any]:
    """Gradients, updates, duration, throughput, staleness, CAS statistics and drops."""
    return Tally.of(trace).summary()
