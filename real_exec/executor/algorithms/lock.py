"""Lock-based AsyncSGD: a mutex around the read-copy and around the apply.

The mutex is the operating system's (:class:`real_exec.executor.native.Mutex`, a ``pthread_mutex_t``
as ``std::mutex`` is): a worker that finds it taken sleeps until it is released.

A worker whose update follows its own read directly (nothing published in between) writes
the new vector into its private copy in the same pass as the update, and its next read
copies only if the version has moved since: a lone worker copies the vector once, not once
per gradient. The read is still the shared vector as it was when the mutex was taken.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from real_exec.executor.algorithms.steps import (
    DISCARD_AT,
    STOPPED,
    VERSION,
    SharedVector,
    claim,
    conclude,
    cpu_clock,
    enter,
    gradient,
    read_locked,
    step_size,
)
from real_exec.executor.kernels import axpy, axpy_copy
from real_exec.executor.native import Mutex, monotonic, mutex_lock, mutex_unlock

__all__ = ["LockState", "lock_loop"]


class LockState(SharedVector):
    """The shared vector, its mutex, and each worker's private copy."""

    def __init__(self, init: Any, threads: int) -> None:
        super().__init__(init)
        self.mutex = Mutex()
        self.local = [np.empty_like(init) for _ in range(threads)]

    def arguments(self, worker: int) -> tuple[Any, ...]:
        return (self.params, self.mutex.address, self.local[worker])


@njit(nogil=True)
def lock_loop(
    params: Any,
    mutex: int,
    local: Any,
    kernel: Any,
    data: Any,
    ws: Any,
    run: Any,
    mine: Any,
) -> int:
    ctrl, scales, _, eta, beta, _, origin = run
    grad = mine[0]
    t0 = enter(ctrl, origin)
    held = -1  # the version that ``local`` equals
    while claim(ctrl):
        t_read, read_version = read_locked(mutex, ctrl, params, local, t0, held)
        held = read_version
        cpu = cpu_clock(mine, t0 + t_read)
        cpu = gradient(kernel, data, ws, local, mine, beta, t0 + t_read, cpu)
        t_done = monotonic() - t0
        mutex_lock(mutex)
        tau = ctrl[VERSION] - read_version
        if ctrl[DISCARD_AT] > 0 and tau >= ctrl[DISCARD_AT]:  # Ringmaster: thrown away
            mutex_unlock(mutex)
            status = conclude(run, mine, read_version, -1, t_read, t_done, monotonic() - t0, 0, 0.0, cpu)
            if status >= 0:
                return status
            continue
        step = step_size(ctrl, scales, eta, tau)
        version = ctrl[VERSION] + 1
        if tau == 0:  # nothing published since the read: refresh the copy in the same pass
            axpy_copy(params, -step, grad, local)
            held = version
        else:
            axpy(params, -step, grad)
        ctrl[VERSION] = version
        mutex_unlock(mutex)
        t_apply = monotonic() - t0
        status = conclude(run, mine, read_version, version, t_read, t_done, t_apply, 1, step, cpu)
        if status >= 0:
            return status
    return STOPPED
