"""HOGWILD!'s lost updates: what unsynchronized writes that meet take away, measured and replayed.

A HOGWILD! worker adds its update in place, ``x[i] += -eta g[i]`` coordinate by coordinate,
with no lock. When two workers' writes run at the same time and reach the same coordinates
together, one read-modify-write overwrites the other, and that coordinate of one update is
lost. A real run with ``check_updates`` measures the loss: the share of the applied steps' sum
``S`` missing from the final parameters (``RunResult.lost_update_share``),

    q = <x_final - (x_0 - S), S> / ||S||^2,

``q`` in expectation when each step's coordinates are lost independently with probability
``q``. Only writes that overlap in time can lose anything, so the loss per overlapping write
is

    lambda = q / o,   o = the fraction of updates whose write overlaps another worker's

(a write lasts from the end of its gradient, ``t_grad_done``, to its publication,
``t_apply``; :func:`overlapping_writes`). The replay (:mod:`real_exec.study.predict.replay`) takes
``lambda`` of the coordinates away from every update whose simulated write overlaps another:
one stretch of consecutive coordinates at a random place (the writes sweep the vector in
order, so the part two of them lose together is a stretch), ``lambda`` of the vector long.
Both vary from run to run, with the writes' length (measured ranges: docs/prediction.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from real_exec.executor.config import RunConfig
from real_exec.executor.problems import Problem
from real_exec.executor.runner import run
from theory.trace import Trace

__all__ = ["LostUpdates", "lost_stretch", "measure_lost_updates", "overlapping_writes"]


def overlapping_writes(trace: Trace) -> np.ndarray:
    """Per row of ``trace.table``: whether the row's write ``[t_grad_done, t_apply]``
    overlaps the write of another row (dropped rows wrote nothing: never, and never overlapped).

    Sorted by start, a write overlaps an earlier-starting one when the latest end before it
    lies beyond its start, and a later-starting one when the next start lies before its end.
    """
    table = trace.table
    start = table["t_grad_done"].to_numpy(dtype=np.float64)
    end = table["t_apply"].to_numpy(dtype=np.float64)
    written = ~table["dropped"].to_numpy(dtype=bool)
    rows = np.flatnonzero(written)
    order = rows[np.argsort(start[rows], kind="stable")]
    s, e = start[order], end[order]
    before = np.concatenate([[-np.inf], np.maximum.accumulate(e)[:-1]]) > s
    after = np.concatenate([s[1:], [np.inf]]) < e
    flags = np.zeros(len(table), dtype=bool)
    flags[order] = before | after
    return flags


@dataclass(frozen=True)
class LostUpdates:
    """What a real HOGWILD! run lost: ``share`` (``q``) of its steps, with ``overlapping``
    (``o``) of its writes overlapping another."""

    share: float
    overlapping: float

    @property
    def per_overlap(self) -> float:
        """``lambda = q / o``, clipped to [0, 1]; 0 without overlaps."""
        return min(1.0, max(0.0, self.share / self.overlapping)) if self.overlapping > 0 else 0.0


def measure_lost_updates(
    problem: Problem, threads: int, seconds: float, eta: float, seed: int = 0
) -> LostUpdates:
    """A real HOGWILD! run of ``seconds`` with ``threads`` threads and ``check_updates``: the
    share of its steps lost and the fraction of its writes that overlapped."""
    if threads < 1 or not seconds > 0:
        raise ValueError(f"need threads >= 1 and seconds > 0, got {threads} and {seconds}")
    result = run(RunConfig("hogwild", threads, eta, seconds=seconds, seed=seed, check_updates=True), problem)
    flags = overlapping_writes(result.trace)
    share = result.lost_update_share or 0.0
    return LostUpdates(float(share), float(flags.mean()) if flags.size else 0.0)


def lost_stretch(rng: np.random.Generator, dim: int, fraction: float) -> np.ndarray:
    """The coordinates one overlapping write loses: ``round(fraction * dim)`` consecutive
    indices from a uniformly random start, wrapping around the end of the vector."""
    length = min(dim, round(fraction * dim))
    start = int(rng.integers(dim)) if dim else 0
    return (start + np.arange(length)) % max(dim, 1)
