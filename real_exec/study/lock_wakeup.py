"""The mutex's hand-off on this machine, timed directly.

A lock-based profile's ``lock_handoff`` (:mod:`staleness_sim.profile`) is the time from a
mutex's release to the moment a worker that slept on it runs again. The calibration infers
it from a run's Trace (:func:`real_exec.study.calibrate.lock_handoff`: the time between
publishes that waited for the lock, less the publish). A run whose workers never wait (one
thread, or gradients long enough that the lock is always free) gives none, and the pieces
of a model are only as good as their check against the machine. The probe
(:func:`measure_lock_handoff`) times the hand-off itself, with the mutex the real workers
use (:class:`real_exec.executor.native.Mutex`, a ``pthread_mutex_t``): one thread holds
it; the other asks for it and sleeps in the kernel, its core idle, as a lock-based worker
does; after ``hold`` seconds the holder releases it::

    h_i = t_woken,i - t_released,i        h = median over the rounds

(``t_released``: just before the holder's unlock; ``t_woken``: just after the sleeper's lock
returns; both :func:`~real_exec.executor.native.monotonic`). How long a core has been idle
can decide how deeply it sleeps and how long it takes to wake (a virtual machine's halted
virtual CPU, a core's idle states), so ``hold`` is how long the workers being modelled wait
for the lock, e.g. a publish. Each thread needs a core: the probe is for machines with two
or more.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numba import njit

from real_exec.executor.atomics import fetch_add, load
from real_exec.executor.machine import usable_cores
from real_exec.executor.native import Mutex, monotonic, mutex_lock, mutex_unlock

__all__ = ["measure_lock_handoff"]

#: Slots of the probe's flags: rounds held by the holder, asked for and done by the sleeper.
HELD, ASKED, DONE = 0, 1, 2


@njit(nogil=True, cache=True)
def _holder(mutex: int, flags: Any, released: Any, hold: float) -> None:
    """Per round: take the mutex, wait for the sleeper to ask for it, hold it ``hold`` more
    seconds, record the time and release it; then wait for the sleeper to be done."""
    for i in range(released.size):
        mutex_lock(mutex)
        fetch_add(flags, HELD, 1)
        while load(flags, ASKED) <= i:
            pass
        until = monotonic() + hold
        while monotonic() < until:
            pass
        released[i] = monotonic()
        mutex_unlock(mutex)
        while load(flags, DONE) <= i:
            pass


@njit(nogil=True, cache=True)
def _sleeper(mutex: int, flags: Any, woken: Any) -> None:
    """Per round: once the holder has the mutex, ask for it (and sleep), record when it comes."""
    for i in range(woken.size):
        while load(flags, HELD) <= i:
            pass
        fetch_add(flags, ASKED, 1)
        mutex_lock(mutex)
        woken[i] = monotonic()
        mutex_unlock(mutex)
        fetch_add(flags, DONE, 1)


def measure_lock_handoff(hold: float = 1e-4, rounds: int = 200) -> float:
    """The median seconds from a mutex's release to its sleeper running, over ``rounds``
    hand-offs after a sleep of about ``hold`` seconds each (see the module docstring).
    ``ValueError`` for bad arguments or a machine with one usable core."""
    if not (np.isfinite(hold) and hold >= 0) or rounds < 1:
        raise ValueError(f"need hold >= 0 and rounds >= 1, got hold={hold!r}, rounds={rounds!r}")
    if usable_cores() < 2:
        raise ValueError("the lock hand-off probe needs two cores (one per thread)")
    mutex, flags = Mutex(), np.zeros(3, dtype=np.int64)
    released, woken = np.zeros(rounds), np.zeros(rounds)
    threads = [
        threading.Thread(target=_holder, args=(mutex.address, flags, released, hold), daemon=True),
        threading.Thread(target=_sleeper, args=(mutex.address, flags, woken), daemon=True),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return float(np.median(woken - released))
