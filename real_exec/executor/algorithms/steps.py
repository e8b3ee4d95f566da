"""What every compiled worker loop does besides its algorithm's read and publish.

The threads of a run share a control block, ``ctrl`` (an int64 array, entries below), read
and written with atomics (:mod:`real_exec.executor.atomics`); the main thread writes ``STOP`` and the
step-size ``TABLE`` row. Each worker owns a row buffer and a small ``stats`` array
(:class:`real_exec.executor.recorder.Recorder`).

A loop returns one of :data:`STOPPED`, :data:`BUFFER_FULL` (the runner gives it a new
chunk and calls it again) or :data:`WARMED_UP` (this worker completed the warm-up sample:
the runner fixes TAIL-tau's or MindTheStep's table and calls it again); it never returns
per gradient.
"""

from __future__ import annotations

import math
from typing import Any

from numba import njit

from real_exec.executor.atomics import fetch_add, load
from real_exec.executor.kernels import axpy, copy_into, heavy_ball
from real_exec.executor.native import monotonic, mutex_lock, mutex_unlock, sleep_until, thread_cpu, yield_core
from real_exec.executor.recorder import (
    APPLY_VERSION,
    ATTEMPTS,
    COUNT,
    CPU,
    FILL,
    READ_VERSION,
    STEP,
    T_APPLY,
    T_DONE,
    T_READ,
)

__all__ = [
    "ABORT",
    "ARRIVED",
    "BUFFER_FULL",
    "CLAIMED",
    "CONTROL",
    "CPU_CLOCK",
    "DISCARD_AT",
    "FACTOR",
    "GATE",
    "GENERATION",
    "GO_ON",
    "LIMIT",
    "MODE",
    "READY",
    "SLEEP",
    "SPIN",
    "STOP",
    "STOPPED",
    "TABLE",
    "VERSION",
    "WARMED_UP",
    "WARM_FILLED",
    "WARM_SEEN",
    "WARM_SKIP",
    "WARM_TAKE",
    "account",
    "claim",
    "conclude",
    "cpu_clock",
    "direction",
    "enter",
    "gradient",
    "observe",
    "read_locked",
    "record",
    "slow_down",
    "step_size",
]

#: Entries of the control block: the version counter, gradients claimed and the budget
#: (``LIMIT < 0``: none), the stop and abort flags, the step-size table row in use, the
#: warm-up's counters and window, the synchronous barrier's arrivals, generation and
#: verdict, the start gate (workers ready, gate open), and Ringmaster's ``R`` (``DISCARD_AT``:
#: a lock-based gradient of delay ``>= R`` is thrown away; 0: none).
(
    VERSION,
    CLAIMED,
    LIMIT,
    STOP,
    ABORT,
    TABLE,
    WARM_SEEN,
    WARM_FILLED,
    WARM_SKIP,
    WARM_TAKE,
    ARRIVED,
    GENERATION,
    GO_ON,
    READY,
    GATE,
    DISCARD_AT,
) = range(16)
CONTROL = 16

STOPPED, BUFFER_FULL, WARMED_UP = 0, 1, 2


@njit(nogil=True, cache=True)
def enter(ctrl: Any, origin: Any) -> float:
    """The start gate: wait (yielding the core) until the main thread opens the gate, so
    that every worker starts at once, already in compiled code; return the run's time
    origin (``origin[0]``, set by the main thread as it opens the gate)."""
    if load(ctrl, GATE) == 0:
        fetch_add(ctrl, READY, 1)
        while load(ctrl, GATE) == 0 and load(ctrl, STOP) == 0:
            yield_core()
    return origin[0]


@njit(nogil=True, cache=True)
def claim(ctrl: Any) -> bool:
    """Reserve the next gradient of the budget; False once the run is stopped or spent."""
    if load(ctrl, STOP) != 0:
        return False
    if ctrl[LIMIT] >= 0 and fetch_add(ctrl, CLAIMED, 1) >= ctrl[LIMIT]:
        ctrl[STOP] = 1
        return False
    return True


@njit(nogil=True, cache=True)
def step_size(ctrl: Any, scales: Any, eta: float, tau: int) -> float:
    """``eta0 * s(tau)`` from the table row in use (the last entry for larger ``tau``).

    Once the warm-up sample is complete, and until the main thread has set the rule's
    table from it, the worker waits (yielding its core), so that every update after the
    warm-up takes the rule, however long that takes on a loaded machine (a worker's return
    to the interpreter may wait a time slice). Only updates already past this point when
    the sample filled (at most one per other worker) keep ``eta0``."""
    if ctrl[WARM_TAKE] > 0 and load(ctrl, TABLE) == 0:
        while load(ctrl, WARM_FILLED) >= ctrl[WARM_TAKE] and load(ctrl, TABLE) == 0 and load(ctrl, STOP) == 0:
            yield_core()
    row = scales[load(ctrl, TABLE)]
    return eta * row[min(max(tau, 0), row.size - 1)]


@njit(nogil=True, cache=True)
def direction(grad: Any, velocity: Any, beta: float) -> None:
    """The update direction in place: heavy-ball ``v = beta v + g; g = v`` when ``beta > 0``."""
    if beta > 0.0:
        heavy_ball(velocity, grad, beta)


#: A worker's ``pace`` array: its slowdown factor, how the extra time is spent, and whether
#: each gradient's thread CPU time is read (1) or left NaN (0: a thread CPU clock is a
#: system call, a fifth of a microsecond where the clock is virtualized, twice per gradient).
FACTOR, MODE, CPU_CLOCK = 0, 1, 2
SPIN, SLEEP = 0, 1


@njit(nogil=True, cache=True)
def cpu_clock(mine: Any, since: float) -> float:
    """The thread's CPU clock at the monotonic instant ``since`` where a gradient phase began
    (the read), if the worker's ``pace`` reads it; else NaN.

    Called right after the read, never before it: reading a thread's CPU clock is a system
    call, and there Linux checks whether the thread's time slice is over, so a thread that
    shares its core is preempted at that call more often than anywhere else. Preempted
    before its read, a worker would miss the updates published while it waited (they would
    fall between two of its windows, in no update's staleness); preempted after it, they
    count in this update's staleness, as when a slice ends anywhere in the gradient. The
    stretch from ``since`` to the call (the copy under lock-based SGD's mutex) is taken as
    spent on the core: the CPU clock less that stretch's wall time, read before the call (a
    preemption at the call comes after the clock's value, and must not count)."""
    if mine[5][CPU_CLOCK] == 0.0:
        return math.nan
    stretch = monotonic() - since
    return thread_cpu() - stretch


@njit(nogil=True)
def slow_down(
    pace: Any, start_wall: float, start_cpu: float, kernel: Any, at: Any, spare: Any, data: Any, ws: Any
) -> None:
    """Make the gradient phase begun at ``start_wall``/``start_cpu`` (the read, so for
    lock-based SGD the copy under the mutex too) take ``pace[FACTOR]`` times its own
    duration. ``SPIN`` computes on the core, as a slower core would: it runs the kernel
    again at ``at`` into ``spare`` (another minibatch) while a whole gradient fits, then
    spins for the rest, until the thread's CPU time is that factor of the phase's. Running
    the kernel keeps the slow thread's memory traffic, so that a fast thread sees the same
    contention as beside a worker at full speed (a bare spin leaves memory alone, and the
    fast thread's gradients run faster beside it). ``SLEEP`` leaves the core (a worker
    waiting on a device or a network) until the wall time is that factor of the phase's.
    Factor 1: nothing. Not cached on disk, as it takes the kernel."""
    factor = pace[FACTOR]
    if factor == 1.0:
        return
    if pace[MODE] == SPIN:
        spent = thread_cpu() - start_cpu
        until = start_cpu + factor * spent
        while thread_cpu() + spent <= until:
            kernel(at, spare, data, ws)
        while thread_cpu() < until:
            pass
    else:
        sleep_until(start_wall + factor * (monotonic() - start_wall))


@njit(nogil=True)
def gradient(
    kernel: Any, data: Any, ws: Any, at: Any, mine: Any, beta: float, start_wall: float, start_cpu: float
) -> float:
    """The update direction at parameters ``at`` into the worker's gradient buffer (the
    problem's kernel, the worker's slowdown of the phase begun at the read, ``start_wall``
    on the monotonic clock and ``start_cpu`` from :func:`cpu_clock`, then momentum); return
    the phase's thread CPU seconds, from the read. Not cached on disk, as it takes the
    kernel (see :mod:`real_exec.executor.algorithms`); NaN when the worker's ``pace``
    reads no CPU clock."""
    grad, velocity, _, _, _, pace, spare = mine
    if pace[CPU_CLOCK] == 0.0:  # no slowdown either: a slowed worker always reads the clock
        kernel(at, grad, data, ws)
        direction(grad, velocity, beta)
        return math.nan
    kernel(at, grad, data, ws)
    slow_down(pace, start_wall, start_cpu, kernel, at, spare, data, ws)
    cpu = thread_cpu() - start_cpu
    direction(grad, velocity, beta)
    return cpu


@njit(nogil=True, cache=True)
def read_locked(mutex: int, ctrl: Any, params: Any, local: Any, t0: float, held: int) -> tuple[float, int]:
    """Copy the shared vector into ``local`` under the mutex, unless ``local`` already holds
    its version (``held``: the version ``local`` is known to equal, -1 for none); return when
    (seconds since ``t0``) and which version was read."""
    mutex_lock(mutex)
    t_read, version = monotonic() - t0, ctrl[VERSION]
    if version != held:
        copy_into(local, params)
    mutex_unlock(mutex)
    return t_read, version


@njit(nogil=True, cache=True)
def account(applied: Any, step: float, grad: Any, check: bool) -> None:
    """Add the applied step to the worker's sum (the lost-update check) when ``check``."""
    if check:
        axpy(applied, step, grad)


class SharedVector:
    """The state of an algorithm whose workers share one parameter vector (HOGWILD!,
    lock-based and synchronous SGD): ``params``, copied by ``snapshot`` for the monitor and
    returned by ``final`` at the end."""

    def __init__(self, init: Any) -> None:
        self.params = init.copy()

    def snapshot(self) -> Any:
        return self.params.copy()

    def final(self) -> Any:
        return self.params


@njit(nogil=True, cache=True)
def observe(ctrl: Any, warm: Any, tau: int) -> bool:
    """Count an applied update toward the warm-up; True for the one update that completes
    its sample (``WARM_TAKE`` staleness values after the first ``WARM_SKIP`` updates)."""
    take = ctrl[WARM_TAKE]
    if take <= 0 or load(ctrl, WARM_FILLED) >= take:
        return False
    j = fetch_add(ctrl, WARM_SEEN, 1) - ctrl[WARM_SKIP]
    if j < 0 or j >= take:
        return False
    warm[j] = max(tau, 0)
    return fetch_add(ctrl, WARM_FILLED, 1) + 1 == take


@njit(nogil=True, cache=True)
def record(
    buf: Any,
    stats: Any,
    read_version: int,
    version: int,
    t_read: float,
    t_done: float,
    t_apply: float,
    attempts: int,
    step: float,
    cpu: float,
) -> bool:
    """Count the gradient and, with a buffer (``buf.shape[0] > 0``), store its row; True
    when the buffer is full."""
    stats[COUNT] += 1
    n = buf.shape[0]
    if n == 0:
        return False
    k = stats[FILL]
    row = buf[k]
    row[READ_VERSION] = read_version
    row[APPLY_VERSION] = version
    row[T_READ] = t_read
    row[T_DONE] = t_done
    row[T_APPLY] = t_apply
    row[ATTEMPTS] = attempts
    row[STEP] = step
    row[CPU] = cpu
    stats[FILL] = k + 1
    return k + 1 == n


@njit(nogil=True, cache=True)
def conclude(
    run: Any,
    mine: Any,
    read_version: int,
    version: int,
    t_read: float,
    t_done: float,
    t_apply: float,
    attempts: int,
    step: float,
    cpu: float,
) -> int:
    """After a publish (``version < 0``: dropped): the lost-update sum and the warm-up for
    an applied update, the gradient's row; the status to return, or -1 to go on."""
    ctrl, _, warm, _, _, check, _ = run
    grad, _, applied, buf, stats, _, _ = mine
    warmed = False
    if version > 0:
        account(applied, step, grad, check)
        warmed = observe(ctrl, warm, version - 1 - read_version)
    else:
        step = 0.0
    full = record(buf, stats, read_version, version, t_read, t_done, t_apply, attempts, step, cpu)
    if warmed:
        return WARMED_UP
    return BUFFER_FULL if full else -1
