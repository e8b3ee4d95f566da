"""Lock-based AsyncSGD: a mutex around the read-copy and around the apply."""

from __future__ import annotations

import threading
from time import thread_time
from typing import Any

import numpy as np

from real_exec.kernels import axpy, copy_into
from real_exec.run_context import RunContext

__all__ = ["LockState", "lock_worker"]


class LockState:
    """The shared vector, its mutex and its version."""

    def __init__(self, init: Any) -> None:
        self.params = init.copy()
        self.lock = threading.Lock()
        self.version = 0

    def snapshot(self) -> Any:
        return self.params.copy()

    def final(self) -> Any:
        return self.params


def lock_worker(ctx: RunContext, i: int, shared: LockState) -> None:
    local = np.empty_like(shared.params)
    grad = np.empty_like(shared.params)
    rec, now, lock = ctx.recorders[i], ctx.now, shared.lock
    while ctx.claim():
        with lock:
            t_read, read_version = now(), shared.version
            copy_into(local, shared.params)
        cpu = thread_time()
        ctx.problem.grad(local, grad)
        cpu = thread_time() - cpu
        ctx.direction(i, grad)
        t_done = now()
        with lock:
            tau = shared.version - read_version
            step = ctx.step(tau)
            axpy(shared.params, -step, grad)
            shared.version += 1
            version = shared.version
        t_apply = now()
        ctx.record_applied(i, step, grad)
        ctx.observe(tau)
        rec.add(read_version, version, t_read, t_done, t_apply, 1, step, cpu)
