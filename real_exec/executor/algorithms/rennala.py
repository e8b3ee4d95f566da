"""Rennala SGD (Tyurin & Richtarik, NeurIPS 2023): the first ``S`` gradients computed at the
current version are averaged into one step; a gradient of an older version is thrown away.

A worker copies the shared vector under the mutex, as a lock-based worker does, and computes
its gradient on the copy. Under the mutex again it adds the gradient to the step's
accumulator if the version has not moved since its read (else the gradient is dropped and
the worker reads again); the ``S``-th gradient applies ``-eta/S`` times the sum and starts
the next version. A gradient's row is written, with ``t_apply``, while the mutex is held,
so rows of one step are consecutive in time (:mod:`theory.rennala`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from real_exec.executor.algorithms.steps import (
    BUFFER_FULL,
    STOPPED,
    VERSION,
    SharedVector,
    account,
    claim,
    cpu_clock,
    enter,
    gradient,
    read_locked,
    record,
    step_size,
)
from real_exec.executor.kernels import axpy
from real_exec.executor.native import Mutex, monotonic, mutex_lock, mutex_unlock

__all__ = ["RennalaState", "rennala_loop"]


class RennalaState(SharedVector):
    """The shared vector, its mutex, the step's accumulator and count, and private copies."""

    def __init__(self, init: Any, threads: int, batch: int) -> None:
        super().__init__(init)
        self.mutex = Mutex()
        self.local = [np.empty_like(init) for _ in range(threads)]
        self.total = np.zeros_like(init)
        self.count = np.zeros(1, dtype=np.int64)
        self.batch = batch

    def arguments(self, worker: int) -> tuple[Any, ...]:
        return (self.params, self.mutex.address, self.local[worker], self.total, self.count, self.batch)


@njit(nogil=True)
def rennala_loop(
    params: Any,
    mutex: int,
    local: Any,
    total: Any,
    count: Any,
    batch: int,
    kernel: Any,
    data: Any,
    ws: Any,
    run: Any,
    mine: Any,
) -> int:
    ctrl, scales, _, eta, beta, check, origin = run
    grad, _, applied, buf, stats, _, _ = mine
    t0 = enter(ctrl, origin)
    held = -1  # the version that ``local`` equals: the shared vector moves only with it
    while claim(ctrl):
        t_read, read_version = read_locked(mutex, ctrl, params, local, t0, held)
        held = read_version
        cpu = cpu_clock(mine, t0 + t_read)
        cpu = gradient(kernel, data, ws, local, mine, beta, t0 + t_read, cpu)
        t_done = monotonic() - t0
        mutex_lock(mutex)
        version, step, attempts = -1, 0.0, 0  # a gradient thrown away makes no attempt
        if ctrl[VERSION] == read_version:
            attempts = 1
            step = step_size(ctrl, scales, eta, 0) / batch
            axpy(total, 1.0, grad)
            count[0] += 1
            version = read_version + 1
            if count[0] == batch:  # the step's last gradient applies the step
                axpy(params, -step, total)
                account(applied, step, total, check)
                total[:] = 0.0
                count[0] = 0
                ctrl[VERSION] = version
        t_apply = monotonic() - t0
        full = record(buf, stats, read_version, version, t_read, t_done, t_apply, attempts, step, cpu)
        mutex_unlock(mutex)
        if full:
            return BUFFER_FULL
    return STOPPED
