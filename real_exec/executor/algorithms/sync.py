"""Synchronous parallel SGD: all threads compute on the same version, one averaged update.

The barrier is a counter of arrivals and a generation number in the control block: the
last thread to arrive applies the average of the round's gradients, decides whether the
run goes on, and starts the next generation; the others wait for it, yielding their core
(``sched_yield``), and leave at once if a worker failed (``ABORT``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from real_exec.executor.algorithms.steps import (
    ABORT,
    ARRIVED,
    BUFFER_FULL,
    GENERATION,
    GO_ON,
    LIMIT,
    STOP,
    STOPPED,
    VERSION,
    SharedVector,
    account,
    cpu_clock,
    enter,
    gradient,
    record,
    step_size,
)
from real_exec.executor.atomics import fetch_add, load
from real_exec.executor.kernels import axpy
from real_exec.executor.native import monotonic, yield_core

__all__ = ["SyncState", "sync_loop"]


class SyncState(SharedVector):
    """The shared vector and the round's gradients (one row per thread)."""

    def __init__(self, init: Any, threads: int) -> None:
        super().__init__(init)
        self.grads = np.zeros((threads, init.size), dtype=init.dtype)

    def arguments(self, worker: int) -> tuple[Any, ...]:
        return (self.params, self.grads, self.grads.shape[0])

    def gradient_buffer(self, worker: int) -> Any:
        return self.grads[worker]


@njit(nogil=True, cache=True)
def _apply_round(params: Any, grads: Any, ctrl: Any, step: float, applied: Any, check: bool) -> None:
    """The last arrival's work: the averaged update, the verdict, the next generation."""
    m = grads.shape[0]
    for g in range(m):
        axpy(params, -step / m, grads[g])
        account(applied, step / m, grads[g], check)
    version = ctrl[VERSION] + 1
    ctrl[VERSION] = version
    spent = ctrl[LIMIT] >= 0 and version * m >= ctrl[LIMIT]
    ctrl[GO_ON] = 0 if spent or load(ctrl, STOP) != 0 else 1
    ctrl[ARRIVED] = 0
    fetch_add(ctrl, GENERATION, 1)


@njit(nogil=True)
def sync_loop(
    params: Any,
    grads: Any,
    threads: int,
    kernel: Any,
    data: Any,
    ws: Any,
    run: Any,
    mine: Any,
) -> int:
    ctrl, scales, _, eta, beta, check, origin = run
    _, _, applied, buf, stats, _, _ = mine
    t0 = enter(ctrl, origin)
    step = step_size(ctrl, scales, eta, 0)
    while load(ctrl, GO_ON) != 0:
        t_read, read_version = monotonic() - t0, load(ctrl, VERSION)
        cpu = cpu_clock(mine, t0 + t_read)
        cpu = gradient(kernel, data, ws, params, mine, beta, t0 + t_read, cpu)
        t_done = monotonic() - t0
        generation = load(ctrl, GENERATION)
        if fetch_add(ctrl, ARRIVED, 1) == threads - 1:
            _apply_round(params, grads, ctrl, step, applied, check)
        else:
            while load(ctrl, GENERATION) == generation:
                if load(ctrl, ABORT) != 0:
                    return STOPPED
                yield_core()
        full = record(
            buf, stats, read_version, load(ctrl, VERSION), t_read, t_done, monotonic() - t0, 1, step, cpu
        )
        if full and load(ctrl, GO_ON) != 0:
            return BUFFER_FULL
    return STOPPED
