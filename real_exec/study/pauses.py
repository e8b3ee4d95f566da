"""Pauses that stop every core at once, measured on a real run's gradients.

Something outside the run can stop every core at once (on a virtual machine, for
example, work of the host's), and every worker's gradient under way then takes the pause's
length longer. Pauses common to all workers do not change the order of the run's events,
so they do not change its staleness; but taken as each gradient's own spread they would:
the simulator draws every gradient independently, and a long draw of one worker beside a
short one of the other lets the short one publish twice with nothing in between (a
staleness of 0 where the real workers, paused together, saw 1).

:func:`common_pauses` finds them: a gradient whose excess over its worker's median
gradient is in the top ``1 - TAIL`` of its worker's excesses, that overlaps a gradient of
another worker in the same top share, met a pause of length at least the smaller of the
two excesses (both were lengthened, by about the same time, while both ran), and no
longer than the time their runs overlap. A pause stops every core, so it lengthens the
gradient under way on each: with ``k`` workers on cores at once (the workers, or the
cores where fewer), a row's pause is the length that ``k - 1`` other workers' gradients
show it (the ``(k - 1)``-th largest of the lengths over the other workers), which leaves
out most chance meetings of long gradients. :func:`without_pauses` takes those seconds
out of each gradient and spreads the worker's total over all of its gradients evenly, so
that the workers keep their total time (and the simulation its throughput) while the
spread the simulator draws from is each gradient's own. :mod:`real_exec.study.calibrate`
decides where they apply (its ``PRIVATE_GRADIENTS``: gradients that no other worker's
writes lengthen).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TAIL", "common_pauses", "without_pauses"]

#: A gradient is long when its excess over its worker's median is above this quantile of
#: that worker's excesses.
TAIL = 0.9


def common_pauses(
    table: pd.DataFrame,
    durations: np.ndarray,
    cores: int | None = None,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Per row of ``table``: the seconds of a pause common to its gradient and the other
    workers' on cores meanwhile (module docstring); ``durations`` are the gradients'
    seconds (wall-clock or CPU), each row's running from its ``t_read``; ``cores``: how
    many run at once (``None``: a core per worker); ``eligible``: the rows that may count
    as long (``None``: all), e.g. on time-shared cores those that kept their core
    throughout, whose CPU time has no refill of caches another thread emptied. Zeros with
    one worker."""
    durations = np.asarray(durations, dtype=np.float64)
    worker = table["worker"].to_numpy()
    start = table["t_read"].to_numpy(np.float64)
    end = table["t_grad_done"].to_numpy(np.float64)
    ids = np.unique(worker)
    others = min(ids.size, cores or ids.size) - 1
    if others < 1:
        return np.zeros_like(durations)
    excess, long = np.zeros_like(durations), np.zeros(durations.size, dtype=bool)
    for w in ids:
        own = worker == w
        excess[own] = durations[own] - np.median(durations[own])
        long[own] = excess[own] > np.quantile(excess[own], TAIL)
    if eligible is not None:
        long &= np.asarray(eligible, dtype=bool)
    candidates = np.flatnonzero(long)  # only long gradients can show a pause
    at = np.full(durations.size, -1)
    at[candidates] = np.arange(candidates.size)
    seen = np.zeros((ids.size, candidates.size))  # per other worker: the pause its gradients show
    for k, other in enumerate(ids):
        theirs = np.flatnonzero((worker == other) & long)
        theirs = theirs[np.argsort(start[theirs], kind="stable")]
        rows = np.flatnonzero((worker != other) & long)
        if rows.size == 0 or theirs.size == 0:
            continue
        # a worker's gradients follow one another: those of ``other`` that overlap a row are
        # a run of consecutive ones, from the last begun before the row to the last begun
        # before it ended
        first = np.maximum(np.searchsorted(start[theirs], start[rows], side="right") - 1, 0)
        last = np.searchsorted(start[theirs], end[rows], side="left")
        for offset in range(int((last - first).max(initial=0))):
            pick = first + offset
            valid = pick < last
            r, o = rows[valid], theirs[pick[valid]]
            overlap = np.minimum(end[r], end[o]) - np.maximum(start[r], start[o])
            length = np.minimum(np.minimum(excess[r], excess[o]), overlap)
            np.maximum.at(seen[k], at[r], np.where(overlap > 0, length, 0.0))
    pause = np.zeros_like(durations)
    pause[candidates] = np.sort(seen, axis=0)[ids.size - others]
    return pause


def without_pauses(durations: np.ndarray, pauses: np.ndarray, worker: np.ndarray) -> np.ndarray:
    """``durations`` less their ``pauses``, plus each worker's mean pause: the same total
    time per worker, spread evenly over its gradients."""
    durations = np.asarray(durations, dtype=np.float64)
    mean = pd.Series(pauses).groupby(np.asarray(worker)).transform("mean").to_numpy()
    return durations - pauses + mean
