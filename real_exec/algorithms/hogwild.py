"""HOGWILD!: gradients on the live shared vector, unsynchronized in-place updates.

Versions are counted with an atomic increment after each update; an update's staleness
is the number of increments between its read and its own increment.
"""

from __future__ import annotations

from time import thread_time
from typing import Any

import numpy as np

from real_exec.atomics import fetch_add, load
from real_exec.kernels import axpy
from real_exec.run_context import RunContext

__all__ = ["HogwildState", "hogwild_worker"]


class HogwildState:
    def __init__(self, init: Any) -> None:
        self.params = init.copy()

    def snapshot(self) -> Any:
        return self.params.copy()

    def final(self) -> Any:
        return self.params


def hogwild_worker(ctx: RunContext, i: int, shared: HogwildState) -> None:
    grad = np.empty_like(shared.params)
    rec, now, counters, params = ctx.recorders[i], ctx.now, ctx.counters, shared.params
    while ctx.claim():
        t_read, read_version = now(), load(counters, 0)
        cpu = thread_time()
        ctx.problem.grad(params, grad)
        cpu = thread_time() - cpu
        ctx.direction(i, grad)
        t_done = now()
        step = ctx.step(load(counters, 0) - read_version)
        axpy(params, -step, grad)
        version = fetch_add(counters, 0, 1) + 1
        t_apply = now()
        ctx.record_applied(i, step, grad)
        ctx.observe(version - 1 - read_version)
        rec.add(read_version, version, t_read, t_done, t_apply, 1, step, cpu)
