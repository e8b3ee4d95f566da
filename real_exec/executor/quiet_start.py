"""A run starts when no other thread of this process is on a core.

Libraries that parallelise a call of the main thread leave helper threads that keep a core
busy after the call returns: OpenBLAS's threads spin-wait for new work for a while before they
sleep, and an OpenMP runtime's threads do the same (``OMP_WAIT_POLICY``). A run whose workers
start then shares a core with such a thread: each worker on that core runs half the time, in
turns of the operating system's time slice, until the helper sleeps. Every run of a process
that just evaluated a model or calibrated a profile would begin that way, and the staleness
of those turns is not the hardware's.

:func:`wait_until_quiet` waits, within a bound, until the process's other threads used less
than a fraction of one core over a short window: it samples each thread's state in
``/proc/self/task/<tid>/stat`` (``R``: running or ready to run, Linux, see proc(5)), as a
thread's run time there is brought up to date only at the scheduler's tick, too coarse for a
window of milliseconds. Where that cannot be read it returns at once.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

__all__ = ["BUSY", "Start", "running_threads", "wait_until_quiet"]

TASKS = "/proc/self/task"

#: How many other threads may run on average, over the window, in a quiet process: a thread
#: that wakes for a moment (a timer, a log handler) is seen in fewer than one sample of ten.
BUSY = 0.1


@dataclass(frozen=True)
class Start:
    """How a run's start went: ``waited`` seconds for the process to be quiet, and ``busy``,
    how many other threads were running on average in the last window before the start (NaN
    where it cannot be read); at or above the bound given, the wait ran out."""

    waited: float
    busy: float


def running_threads(tasks: str = TASKS) -> int | None:
    """How many threads of this process other than the calling one are running or ready to
    run (state ``R``); ``None`` where it cannot be read."""
    me = str(threading.get_native_id())
    try:
        tids = os.listdir(tasks)
    except OSError:
        return None
    count = 0
    for tid in tids:
        if tid == me:
            continue
        try:
            with open(f"{tasks}/{tid}/stat") as f:
                # the state follows the name, which is in parentheses and may hold spaces
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:  # the thread ended since the listing
            continue
        except (OSError, IndexError):
            return None
        count += state == "R"
    return count


def wait_until_quiet(
    window: float = 0.005,
    samples: int = 10,
    busy: float = BUSY,
    timeout: float = 0.5,
    tasks: str = TASKS,
) -> Start:
    """Wait until the other threads of this process, sampled ``samples`` times over
    ``window`` seconds, were running on average fewer than ``busy`` at a time, at most
    ``timeout`` seconds; return how long it waited and that average over the last window."""
    start = time.monotonic()
    while True:
        counts = []
        for _ in range(samples):
            count = running_threads(tasks)
            if count is None:
                return Start(time.monotonic() - start, float("nan"))
            counts.append(count)
            time.sleep(window / samples)
        share = sum(counts) / samples
        waited = time.monotonic() - start
        if share < busy or waited >= timeout:
            return Start(waited, share)
