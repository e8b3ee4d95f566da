"""How much slower the model's gradient runs when several cores compute at once.

Cores share caches, memory bandwidth and, on machines with hyper-threads (or virtual CPUs
placed on them), execution units; a gradient computed while ``k - 1`` other cores compute
takes longer than alone. A calibration run on ``c`` threads contains the slowdown of ``c``
busy cores and no other, so predicting ``m != c`` threads needs it measured
(``contention`` in :mod:`staleness_sim.profile`).

The probe (:func:`measure_contention`): ``k`` threads compute the problem's gradient on
private copies of the parameters for a short burst, started together; the slowdown is the
ratio of mean wall-clock seconds per gradient, each pooled over its burst's threads
(thread ``j`` computes ``n_j`` gradients in ``t_j`` seconds)::

    s_k = (sum_j t_j / sum_j n_j) with k threads / (t_1 / n_1) with 1 thread

Wall-clock seconds, as in the calibration's phases (with a core per thread), so that the
factors also contain what a thread's CPU time leaves out: on a virtual machine the
hypervisor takes more of the cores' time (steal, :mod:`real_exec.executor.stolen_time`) when more
of them are busy.

With ``shared=True`` (HOGWILD!, whose workers compute on the one vector they all write)
the ``k`` threads compute on one copy and each applies its gradient to it after computing
it (a step of :data:`SHARED_STEP`: the writes, not their values, cost): the vector's cache
lines then move between the cores as in a HOGWILD! run (docs/real_exec.md, "HOGWILD!'s
limit, measured"), which a calibration on one thread cannot contain. ``k = 1`` applies its
updates too, so that the factor is the sharing's alone.

The publish probe (:func:`measure_publish_contention`, for the algorithms whose workers
compute on a private copy and write their update into the vector the others write:
lock-based, Leashed-SGD, synchronous SGD): each of ``k`` threads copies the common vector
into its own, computes a gradient there and applies it to the common vector (a step of
:data:`SHARED_STEP`), the copy and the update under one lock as in lock-based SGD; the
factor is the ratio of mean seconds per update, the update alone timed::

    p_k = (sum_j u_j / sum_j n_j) with k threads / (u_1 / n_1) with 1 thread

With one thread the vector's lines stay in its core's caches from one update to the next;
with ``k`` they come from the core that wrote them last.

Bursts of every ``k`` alternate over several rounds, so that a machine whose speed drifts
affects all of them alike. Measured ``k`` are ``1, 2, 4, ...`` and the largest; the others
are interpolated linearly. BLAS is kept to one thread per worker (the gradients here are
compiled kernels; it matters for problems that call BLAS).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from real_exec.executor.kernels import axpy, copy_into
from real_exec.executor.machine import usable_cores
from real_exec.executor.problems import Problem

__all__ = [
    "contention_ladder",
    "interpolate_contention",
    "measure_contention",
    "measure_publish_contention",
    "relative_to",
]

#: A burst: ``(grad, init, k, seconds) -> mean seconds of what it times``.
Burst = Callable[[Callable[[Any, Any], None], np.ndarray, int, float], float]

#: Each thread of a burst computes at least this many gradients, however short the burst.
MIN_GRADIENTS = 3

#: The step of a shared burst's updates: small enough that the parameters stay where they
#: were over any probe, large enough to change their low bits (every update writes).
SHARED_STEP = 1e-12


def contention_ladder(cores: int) -> list[int]:
    """Thread counts the probe measures for up to ``cores`` busy cores: ``1, 2, 4, ...`` and
    ``cores`` itself."""
    if cores < 1:
        raise ValueError(f"cores must be >= 1, got {cores}")
    ladder = [1]
    while ladder[-1] * 2 < cores:
        ladder.append(ladder[-1] * 2)
    if ladder[-1] != cores:
        ladder.append(cores)
    return ladder


def interpolate_contention(measured: dict[int, float]) -> tuple[float, ...]:
    """Factors for ``k = 1 .. max(measured)``: the measured ones, linear in ``k`` between them."""
    ks = sorted(measured)
    if not ks or ks[0] != 1:
        raise ValueError("the measurements must include k = 1")
    every = np.arange(1, ks[-1] + 1)
    return tuple(float(v) for v in np.interp(every, ks, [measured[k] for k in ks]))


def _together(body: Callable[[int], None], k: int) -> None:
    """``body(0) .. body(k - 1)``, each in a thread of its own, all started, then all joined."""
    threads = [threading.Thread(target=body, args=(j,), daemon=True) for j in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _burst(
    grad: Callable[[Any, Any], None], init: np.ndarray, k: int, seconds: float, shared: bool = False
) -> float:
    """Mean wall-clock seconds per gradient of ``k`` threads computing together: their
    seconds summed over their gradients summed, so that a thread that got fewer turns (an
    unfair lock, a descheduled core) weighs by the gradients it computed, as in a run.
    ``shared``: on one vector, each gradient applied to it (see the module docstring)."""
    seconds_of: list[float] = [0.0] * k
    gradients_of: list[int] = [0] * k
    start = threading.Barrier(k)
    common = init.copy()

    def body(j: int) -> None:
        params, out = common if shared else init.copy(), np.empty_like(init)
        with threadpool_limits(1):
            start.wait()
            begin = time.perf_counter()
            end, n = begin + seconds, 0
            while n < MIN_GRADIENTS or time.perf_counter() < end:
                grad(params, out)
                if shared:
                    axpy(params, -SHARED_STEP, out)
                n += 1
            seconds_of[j], gradients_of[j] = time.perf_counter() - begin, n

    _together(body, k)
    return sum(seconds_of) / sum(gradients_of)


def _publish_burst(grad: Callable[[Any, Any], None], init: np.ndarray, k: int, seconds: float) -> float:
    """Mean wall-clock seconds per update of ``k`` threads that copy one common vector, compute
    a gradient on their copy and apply it to the common vector, the copy and the update under
    one lock (see the module docstring): the updates' seconds summed over the updates summed."""
    update_seconds: list[float] = [0.0] * k
    updates_of: list[int] = [0] * k
    start, lock = threading.Barrier(k), threading.Lock()
    common = init.copy()

    def body(j: int) -> None:
        local, out = init.copy(), np.empty_like(init)
        with threadpool_limits(1):
            start.wait()
            end, n, spent = time.perf_counter() + seconds, 0, 0.0
            while n < MIN_GRADIENTS or time.perf_counter() < end:
                with lock:
                    copy_into(local, common)
                grad(local, out)
                with lock:
                    begin = time.perf_counter()
                    axpy(common, -SHARED_STEP, out)
                    spent += time.perf_counter() - begin
                n += 1
            update_seconds[j], updates_of[j] = spent, n

    _together(body, k)
    return sum(update_seconds) / sum(updates_of)


def _ladder(
    problem: Problem, workers: int, seconds: float, rounds: int, seed: int, burst: Burst
) -> tuple[float, ...]:
    """Factors ``1 .. min(workers, cores)`` of what ``burst`` times, ``k`` threads against one
    (the module docstring): ``rounds`` bursts per measured ``k``, alternating, about
    ``seconds`` in all."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if rounds < 1 or not seconds > 0:
        raise ValueError("need rounds >= 1 and seconds > 0")
    busy = min(workers, usable_cores())
    if busy == 1:
        return (1.0,)
    ladder = contention_ladder(busy)
    init = problem.init(np.random.default_rng(seed))
    each = seconds / (rounds * len(ladder))
    times: dict[int, list[float]] = {k: [] for k in ladder}
    burst(problem.grad, init, 1, min(each, 0.05))  # warm-up: per-thread workspaces, caches
    for _ in range(rounds):
        for k in ladder:
            times[k].append(burst(problem.grad, init, k, each))
    alone = float(np.mean(times[1]))
    return interpolate_contention({k: float(np.mean(v)) / alone for k, v in times.items()})


def measure_contention(
    problem: Problem,
    workers: int,
    seconds: float = 1.0,
    rounds: int = 5,
    seed: int = 0,
    shared: bool = False,
) -> tuple[float, ...]:
    """The gradient-time factors ``s_1 .. s_K`` of ``problem`` on this machine,
    ``K = min(workers, cores)``, ``s_1 = 1`` (see the module docstring); about ``seconds``
    of bursts in all, ``rounds`` per measured ``k``; ``shared``: the threads on one vector
    that they write."""

    def burst(grad: Callable[[Any, Any], None], init: np.ndarray, k: int, each: float) -> float:
        return _burst(grad, init, k, each, shared)

    return _ladder(problem, workers, seconds, rounds, seed, burst)


def measure_publish_contention(
    problem: Problem, workers: int, seconds: float = 1.0, rounds: int = 5, seed: int = 0
) -> tuple[float, ...]:
    """The publish-time factors ``p_1 .. p_K`` of ``problem``'s updates on this machine,
    ``K = min(workers, cores)``, ``p_1 = 1``: threads that update one vector, each from its own
    copy (see the module docstring); arguments as :func:`measure_contention`."""
    return _ladder(problem, workers, seconds, rounds, seed, _publish_burst)


def relative_to(factors: Sequence[float], workers: int) -> tuple[float, ...]:
    """``factors`` divided by the entry of ``workers`` busy cores (the last one beyond the list):
    the contention of a profile calibrated on ``workers`` threads, whose gradient times
    already contain that entry."""
    base = factors[min(workers, len(factors)) - 1]
    return tuple(float(f) / base for f in factors)
