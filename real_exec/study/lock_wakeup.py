"""The mutex's hand-off on this machine, timed directly.

A lock-based profile's ``lock_handoff`` (:mod:`staleness_sim.profile`) is the time from a
mutex's release to the moment a worker that waited for it has it. The calibration infers it
from a run's Trace (:func:`lock_handoff`: the time between
publishes that waited for the lock, less the publish). A run whose workers never wait (one
thread, or gradients long enough that the lock is always free) gives none, and a model's
pieces are only as good as their check against the machine.

The probe (:func:`measure_lock_handoff`) times the hand-off itself, with the mutex the real
workers use (:class:`real_exec.executor.native.Mutex`, a ``pthread_mutex_t``, whose waiter
sleeps in the kernel): two threads take it in turn as lock-based workers do, each holding
it for ``publish`` seconds (spinning) and spinning a uniform ``[0, 2 publish)`` seconds
between two turns, so that a thread asks for the mutex at any point of the other's hold and
waits for the rest of it, as a worker that finds another publishing does. Of the turns whose
thread asked before the previous turn released the mutex::

    h_i = t_got,i - t_released,i-1        h = median over those turns

(times read with :func:`~real_exec.executor.native.monotonic` just after the lock returns
and just before the unlock; 0 with fewer than :data:`MIN_WAITS`, as the calibration gives).
How long the waiter waits decides much of its hand-off: a wait shorter than the kernel's
way into sleep costs a microsecond, a core idle for longer sleeps more deeply (a virtual
machine's halted virtual CPU longest), so the probe's waits are spread as the modelled
workers' are. Each thread needs a core: the probe is for machines with two or more.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numba import njit

from real_exec.executor.machine import usable_cores
from real_exec.executor.native import Mutex, monotonic, mutex_lock, mutex_unlock
from theory.trace import Trace

__all__ = ["MIN_WAITS", "handoffs", "lock_handoff", "measure_lock_handoff", "waited"]

#: Fewer turns that waited than this give no hand-off (0), as in the calibration.
MIN_WAITS = 20


@njit(nogil=True, cache=True)
def _spin(seconds: float) -> None:
    until = monotonic() + seconds
    while monotonic() < until:
        pass


@njit(nogil=True, cache=True)
def _turns(mutex: int, publish: float, gaps: Any, until: float, times: Any) -> int:
    """Take the mutex in turns until ``until`` (or the rows run out): spin ``gaps[i]``, ask,
    hold it ``publish`` seconds; per turn ``times[i] = (asked, got, released)``. The turns
    taken."""
    for i in range(times.shape[0]):
        _spin(gaps[i])
        asked = monotonic()
        if asked >= until:
            return i
        mutex_lock(mutex)
        got = monotonic()
        _spin(publish)
        released = monotonic()
        mutex_unlock(mutex)
        times[i, 0], times[i, 1], times[i, 2] = asked, got, released
    return times.shape[0]


def waited(asked: np.ndarray, released: np.ndarray) -> np.ndarray:
    """Per turn (in the order given; the turns ordered by ``released``, as a mutex's turns
    do not overlap): whether it asked before the turn preceding it released the mutex."""
    order = np.argsort(released, kind="stable")
    out = np.zeros(len(order), dtype=bool)
    out[order[1:]] = asked[order[1:]] < released[order[:-1]]
    return out


def handoffs(asked: np.ndarray, got: np.ndarray, released: np.ndarray) -> np.ndarray:
    """The hand-offs of a mutex's turns (each asked for, got and released at these times): for
    each turn that :func:`waited`, in the order the mutex was taken, the time from the
    previous turn's release to its getting it."""
    order = np.argsort(released, kind="stable")
    previous = released[order[:-1]]
    return (got[order[1:]] - previous)[asked[order[1:]] < previous]


def lock_handoff(trace: Trace, service: float, min_samples: int = MIN_WAITS) -> float:
    """The lock's wake-up latency in a lock-based run: the median, over the publishes that
    asked for the lock before the previous publish released it (``t_grad_done`` of one before
    ``t_apply`` of the one before it, in publish order), of the time from that release to the
    end of the waiting publish, less the publish ``service`` time::

        h = median(t_apply[i] - t_apply[i - 1] - service),  clipped at 0

    (:func:`handoffs` of turns got ``service`` before their
    ``t_apply``). A sample can also contain another worker's read taken in between (a
    barging read), which the median discounts. 0 with fewer than ``min_samples`` waiting
    publishes.
    """
    t_apply = trace.table["t_apply"].to_numpy()
    samples = handoffs(trace.table["t_grad_done"].to_numpy(), t_apply - service, t_apply)
    if samples.size < min_samples:
        return 0.0
    return max(0.0, float(np.median(samples)))


def measure_lock_handoff(publish: float, seconds: float = 0.3, seed: int = 0) -> float:
    """The median seconds from a mutex's release to a thread that waited for it having it,
    with holds of ``publish`` seconds, over ``seconds`` of turns (see the module docstring;
    ``seed`` draws the spins between turns). ``ValueError`` for bad arguments or a machine
    with one usable core."""
    if not (np.isfinite(publish) and publish >= 0 and np.isfinite(seconds) and seconds > 0):
        raise ValueError(f"need publish >= 0 and seconds > 0, got publish={publish!r}, seconds={seconds!r}")
    if usable_cores() < 2:
        raise ValueError("the lock hand-off probe needs two cores (one per thread)")
    mutex = Mutex()
    rows = int(min(2e6, seconds / max(publish, 1e-6) + 1000))
    rngs = np.random.default_rng(seed).spawn(2)
    gaps = [rng.uniform(0.0, 2.0 * publish, rows) for rng in rngs]
    times = [np.zeros((rows, 3)) for _ in range(2)]
    taken = [0, 0]
    _turns(mutex.address, publish, gaps[0], 0.0, times[0][:0])  # compiled before the clock starts
    until = monotonic() + seconds

    def body(j: int) -> None:
        taken[j] = _turns(mutex.address, publish, gaps[j], until, times[j])

    threads = [threading.Thread(target=body, args=(j,), daemon=True) for j in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    turns = np.concatenate([times[j][: taken[j]] for j in range(2)])
    samples = handoffs(turns[:, 0], turns[:, 1], turns[:, 2])
    return float(np.median(samples)) if samples.size >= MIN_WAITS else 0.0
