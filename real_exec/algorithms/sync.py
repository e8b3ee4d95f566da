"""Synchronous parallel SGD: all threads compute on the same version, one averaged update."""

from __future__ import annotations

import threading
from time import thread_time
from typing import Any

import numpy as np

from real_exec.kernels import axpy
from real_exec.run_context import RunContext

__all__ = ["SyncState", "sync_worker"]


class SyncState:
    """Shared vector, per-thread gradient buffers and the barrier.

    ``go_on`` is written only by the thread that applies a round's update, between the two
    barrier waits, so every thread reads the same value after the second wait.
    """

    def __init__(self, init: Any, threads: int) -> None:
        self.params = init.copy()
        self.grads = np.zeros((threads, init.size), dtype=init.dtype)
        self.barrier = threading.Barrier(threads)
        self.version = 0
        self.go_on = True

    def snapshot(self) -> Any:
        return self.params.copy()

    def final(self) -> Any:
        return self.params


def sync_worker(ctx: RunContext, i: int, shared: SyncState) -> None:
    rec, now, m = ctx.recorders[i], ctx.now, ctx.config.threads
    limit = ctx.limit
    try:
        while shared.go_on:
            t_read, read_version = now(), shared.version
            cpu = thread_time()
            ctx.problem.grad(shared.params, shared.grads[i])
            cpu = thread_time() - cpu
            ctx.direction(i, shared.grads[i])
            t_done = now()
            if shared.barrier.wait() == 0:  # one thread applies the average
                step = ctx.step(0)
                for g in shared.grads:
                    axpy(shared.params, -step / m, g)
                    ctx.record_applied(0, step / m, g)
                shared.version += 1
                done = (shared.version * m >= limit) if limit is not None else ctx.stop.is_set()
                shared.go_on = not (done or ctx.stop.is_set())
            shared.barrier.wait()
            rec.add(read_version, shared.version, t_read, t_done, now(), 1, ctx.step(0), cpu)
    except threading.BrokenBarrierError:
        return
