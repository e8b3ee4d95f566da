"""The interpreter lock in real runs, for calibration: which algorithms hold it, how long its
hand-off takes on this machine, which phases ran without waiting for it.

A thread that leaves a ``nogil`` kernel while another thread runs interpreted code waits for
the GIL on a condition variable; when the holder releases it (here: by entering a kernel of
its own), the waiter is signalled and must be scheduled again before it runs. That wake-up,
tens of microseconds on a virtual machine, is what the simulator's ``gil_handoff`` models
(:mod:`staleness_sim.mechanisms.mutex`, barging policy).

The probe (:func:`measure_gil_handoff`): thread B spins in a kernel until it is told to go
(A first waits, without the GIL, until B is in that kernel), spins a few microseconds more
and returns, then waits for the GIL that thread A holds while it runs Python for ``wait``
seconds. A reads its clock ``t_a`` and enters a kernel (releasing the GIL); B reads its
clock ``t_b`` as soon as it holds the GIL. The latency is::

    h = median(t_b - t_a)   over the trials in which B was already waiting at t_a

How long the waiter slept matters (an idle virtual CPU first polls, then halts, and wakes
later from a halt; docs/validation.md has the figures), so calibration waits as long as the
real run's interpreted phases last.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from numba import njit

from real_exec.executor.atomics import load
from theory.trace import Trace

__all__ = ["INTERPRETED_PUBLISH", "gil_handoff_here", "interpreted_loop", "measure_gil_handoff", "ran_alone"]

#: Algorithms whose real read and publish phases run interpreted code between compiled kernels
#: (HOGWILD!: the step size, the update call, the atomic increment, the clock reads;
#: Leashed-SGD: the bookkeeping between its publish and its next gradient, the publish
#: kernel's dispatch), so that the real threads take turns on the interpreter lock there.
#: Profiles calibrated on their real runs get ``gil = true`` and the measured ``gil_handoff``
#: (why both are needed, with the validation figures with and without them: docs/validation.md).
INTERPRETED_PUBLISH = ("hogwild", "leashed")


@njit(nogil=True, cache=True)
def _spin(n: int) -> float:  # pragma: no cover - compiled
    x = 0.0
    for i in range(n):
        x += 1e-9 * i
    return x


@njit(nogil=True, cache=True)
def _wait_then_spin(ctrl: Any, k: int, n: int) -> float:  # pragma: no cover - compiled
    ctrl[2] = k  # ready for trial k
    while load(ctrl, 0) < k:
        pass
    x = _spin(n)
    ctrl[1] = k
    return x


@njit(nogil=True, cache=True)
def _await_ready(ctrl: Any, k: int) -> None:  # pragma: no cover - compiled
    while load(ctrl, 2) < k:
        pass


def _spin_rate() -> float:
    """Seconds per iteration of :func:`_spin` (compiles it first)."""
    _spin(10)
    n = 2_000_000
    start = time.perf_counter()
    _spin(n)
    return max((time.perf_counter() - start) / n, 1e-12)


def measure_gil_handoff(wait: float = 20e-6, trials: int = 200, tail: float = 3e-6) -> float:
    """The median seconds from one thread releasing the GIL to a thread waiting ``wait``
    seconds for it running (see the module docstring). ``tail``: B's spin after it is told
    to go. Takes about ``trials * (wait + 0.2 ms)``. ``nan`` if B was waiting in fewer than a
    tenth of the trials (it was preempted, or ``wait`` is too short for it to finish)."""
    if not (wait > 0 and trials >= 1 and tail >= 0):
        raise ValueError(f"need wait > 0, trials >= 1, tail >= 0 (got {wait}, {trials}, {tail})")
    per = _spin_rate()
    ctrl = np.zeros(3, dtype=np.int64)  # go (A -> B), done (B), ready (B)
    _wait_then_spin(ctrl, 0, 1)
    _await_ready(ctrl, 0)
    t_b = np.zeros(trials + 1)
    t_a = np.zeros(trials + 1)
    waited = np.zeros(trials + 1, dtype=bool)

    def waiter() -> None:
        for k in range(1, trials + 1):
            _wait_then_spin(ctrl, k, int(tail / per))
            t_b[k] = time.perf_counter()

    thread = threading.Thread(target=waiter, name="gil-handoff-probe", daemon=True)
    thread.start()
    release = int(200e-6 / per)
    for k in range(1, trials + 1):
        _await_ready(ctrl, k)  # without the GIL: B records trial k - 1 and enters its kernel
        ctrl[0] = k
        end = time.perf_counter() + wait
        while time.perf_counter() < end:  # interpreted code: A holds the GIL
            pass
        waited[k] = ctrl[1] == k  # B has left its kernel and waits for the GIL
        t_a[k] = time.perf_counter()
        _spin(release)  # releases the GIL for 0.2 ms: B takes it
    thread.join()
    lat = (t_b - t_a)[waited]
    return float(np.median(lat)) if lat.size >= max(1, trials // 10) else float("nan")


def gil_handoff_here(publish_mean: float) -> float:
    """The GIL hand-off latency measured here after a wait of ``publish_mean`` (kept within
    10 us - 1 ms); 0 if the probe fails twice (its waiting thread preempted both times)."""
    wait = float(np.clip(publish_mean, 1e-5, 1e-3))
    for factor in (1, 2):
        latency = measure_gil_handoff(factor * wait)
        if np.isfinite(latency):
            return max(latency, 0.0)
    return 0.0


def ran_alone(table: Any, at: str) -> np.ndarray:
    """Per Trace row: whether, at the row's time ``at`` (a column), every other worker was
    computing a gradient (between its ``t_read`` and ``t_grad_done``), i.e. in no phase that
    needs the interpreter lock (but the short read at the start of that interval). A read or
    publish phase that starts then does not wait for the GIL; the others may include
    waiting, which the simulator's GIL adds itself."""
    worker = table["worker"].to_numpy()
    when = table[at].to_numpy()
    alone = np.ones(len(table), dtype=bool)
    for j in np.unique(worker):
        own = table[worker == j].sort_values("t_read")
        t_read, t_done = own["t_read"].to_numpy(), own["t_grad_done"].to_numpy()
        k = np.searchsorted(t_read, when, side="right") - 1
        computing = (k >= 0) & (when < t_done[np.clip(k, 0, None)])
        alone &= (worker == j) | computing
    return alone


def interpreted_loop(trace: Trace) -> bool:
    """Whether ``trace`` is a real run whose worker loops ran Python code between kernels
    (under the interpreter lock): real runs made before the loops were compiled, whose
    metadata have no ``worker_loop``. Runs of compiled loops (``worker_loop = "compiled"``)
    hold no interpreter lock, so their profiles model none."""
    return (
        trace.meta.get("source") == "real" and trace.meta.get("worker_loop", "interpreted") == "interpreted"
    )
