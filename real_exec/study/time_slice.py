"""The operating system's time slice, as a run's worker threads got it.

Where threads outnumber the cores, the scheduler lets each run for a slice and then gives
its core to a waiting thread. The simulator time-shares its cores the same way (a run queue per core,
the profile's ``quantum``), so the calibration measures the slice on the run itself rather
than assume one: schedulers and their settings differ from machine to machine, and a spent
slice ends only where the kernel looks (a timer tick, a system call), so the slice a worker
gets also depends on its loop (docs/validation.md, "The time-shared rows": 3.96 ms for a
loop without system calls and 1.42 ms for one that makes them often, on one machine).

A real run that time-shares its cores records each gradient's thread CPU time beside its
wall-clock time. A gradient whose wall-clock time exceeds its CPU time by more than half
the median gradient's CPU time lost its core meanwhile (on a core of its own the two differ
by about a microsecond). From the end of one such gradient to the end of a worker's next
one, the worker ran on its core for one slice: the CPU time of the gradients after the
first, up to and including the second, and the publishes and the loop's gaps in between
(those whose wall-clock time shows no preemption of their own; else the phase's median).
:func:`time_slice` is the median of these slices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MIN_SLICES", "in_table_order", "lost_the_core", "slices", "time_slice"]

#: Fewer slices than this in a run: no measurement (the calibration keeps its default).
MIN_SLICES = 10

#: A phase other than the gradient counts as preempted beyond this many times its median.
_PREEMPTED = 20.0


def _on_core(samples: np.ndarray) -> np.ndarray:
    """Phase durations with the preempted ones (beyond ``_PREEMPTED`` medians) set to the median."""
    median = float(np.median(samples)) if samples.size else 0.0
    return np.where(samples > _PREEMPTED * max(median, 1e-9), median, samples)


def _recorders_order(table: pd.DataFrame) -> np.ndarray:
    """The table's rows in the order a run records them: worker 0's in time order, then
    worker 1's, ..."""
    return np.lexsort((table["t_read"].to_numpy(np.float64), table["worker"].to_numpy()))


def in_table_order(table: pd.DataFrame, gradient_cpu: np.ndarray) -> np.ndarray:
    """The gradients' CPU times, given in the order a run records them (``gradient_cpu``),
    in the order of ``table``'s rows."""
    out = np.empty(len(table), dtype=np.float64)
    out[_recorders_order(table)] = np.asarray(gradient_cpu, dtype=np.float64)
    return out


def lost_the_core(wall: np.ndarray, cpu: np.ndarray) -> np.ndarray:
    """Per gradient: whether it lost its core meanwhile, its wall-clock seconds ``wall``
    exceeding its CPU seconds ``cpu`` by more than half the median gradient's CPU time."""
    return (wall - cpu) > 0.5 * float(np.median(cpu))


def time_slice(table: pd.DataFrame, gradient_cpu: np.ndarray) -> float | None:
    """The median slice (seconds) the workers of a time-shared run got (:func:`slices`)."""
    found = slices(table, gradient_cpu)
    return None if found is None else float(np.median(found))


def slices(table: pd.DataFrame, gradient_cpu: np.ndarray) -> np.ndarray | None:
    """The slices (seconds) the workers of a time-shared run got (see the module
    docstring); ``gradient_cpu`` holds each worker's gradients' CPU seconds in turn (worker
    0's in time order, then worker 1's, ...), as a run records them. ``None`` with fewer than
    :data:`MIN_SLICES` slices, or CPU times that do not match the table."""
    cpu = np.asarray(gradient_cpu, dtype=np.float64)
    if cpu.size != len(table) or not np.isfinite(cpu).all():
        return None
    worker = table["worker"].to_numpy()
    t_read = table["t_read"].to_numpy(np.float64)
    order = _recorders_order(table)
    worker, t_read = worker[order], t_read[order]
    t_done = table["t_grad_done"].to_numpy(np.float64)[order]
    t_apply = table["t_apply"].to_numpy(np.float64)[order]
    lost_core = lost_the_core(t_done - t_read, cpu)
    per_worker = []
    for w in np.unique(worker):
        own = np.flatnonzero(worker == w)
        gaps = np.r_[t_read[own][1:] - t_apply[own][:-1], 0.0]  # before each next read
        after = _on_core(t_apply[own] - t_done[own]) + _on_core(np.clip(gaps, 0.0, None))
        until_done = np.cumsum(cpu[own] + after) - after  # time on the core to each gradient's end
        ends = np.flatnonzero(lost_core[own])
        per_worker.append(until_done[ends[1:]] - until_done[ends[:-1]])
    found = np.concatenate(per_worker) if per_worker else np.empty(0)
    found = found[found > 0]
    return found if found.size >= MIN_SLICES else None
