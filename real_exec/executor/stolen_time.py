"""Time the hypervisor takes from this machine's cores (Linux's *steal* time).

On a virtual machine the host runs other work on the same physical cores; Linux counts the
time a virtual CPU was ready to run but not running as steal (the eighth field of a ``cpu``
line of ``/proc/stat``, see proc(5)). A thread's CPU time (``time.thread_time``) does not
contain it, its wall-clock time does: a phase that needs ``c`` seconds of CPU lasts on
average ``c / (1 - s)`` seconds on cores stolen a fraction ``s`` of the time. Calibration
from thread CPU times (:func:`real_exec.study.calibrate.calibrate_profile`) uses it to turn CPU
seconds back into the run's seconds.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["core_times", "stolen_fraction"]

STAT = "/proc/stat"


def _usable_cpus() -> set[int] | None:
    return set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


def core_times(path: str = STAT) -> np.ndarray | None:
    """``[steal, total]`` clock ticks so far over the CPUs this process may run on (``total``:
    user, nice, system, idle, iowait, irq, softirq and steal); ``None`` where ``path`` cannot
    be read (not Linux)."""
    usable = _usable_cpus()
    steal = total = 0
    try:
        with open(path) as f:
            for line in f:
                name, *fields = line.split()
                if not name.startswith("cpu") or name == "cpu":
                    continue
                if usable is not None and int(name[3:]) not in usable:
                    continue
                ticks = [int(v) for v in fields[:8]]
                steal += ticks[7] if len(ticks) > 7 else 0
                total += sum(ticks)
    except (OSError, ValueError):
        return None
    return np.array([steal, total], dtype=np.int64) if total > 0 else None


def stolen_fraction(before: np.ndarray | None, after: np.ndarray | None) -> float:
    """The fraction of the usable cores' time stolen between two :func:`core_times` readings:
    ``(steal_after - steal_before) / (total_after - total_before)``; NaN without both readings
    or without a tick between them."""
    if before is None or after is None:
        return float("nan")
    steal, total = (after - before).tolist()
    return steal / total if total > 0 else float("nan")
