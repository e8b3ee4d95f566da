"""HOGWILD!: gradients on the live shared vector, unsynchronized in-place updates.

Versions are counted with an atomic increment after each update; an update's staleness
is the number of increments between its read and its own increment.
"""

from __future__ import annotations

from typing import Any

from numba import njit

from real_exec.executor.algorithms.steps import (
    STOPPED,
    VERSION,
    SharedVector,
    claim,
    conclude,
    cpu_clock,
    enter,
    gradient,
    step_size,
)
from real_exec.executor.atomics import fetch_add, load
from real_exec.executor.kernels import axpy
from real_exec.executor.native import monotonic

__all__ = ["HogwildState", "hogwild_loop"]


class HogwildState(SharedVector):
    """The shared vector, read and written without a lock."""

    def __init__(self, init: Any, threads: int) -> None:
        super().__init__(init)

    def arguments(self, worker: int) -> tuple[Any, ...]:
        return (self.params,)


@njit(nogil=True)
def hogwild_loop(
    params: Any,
    kernel: Any,
    data: Any,
    ws: Any,
    run: Any,
    mine: Any,
) -> int:
    ctrl, scales, _, eta, beta, _, origin = run
    grad = mine[0]
    t0 = enter(ctrl, origin)
    while claim(ctrl):
        t_read, read_version = monotonic() - t0, load(ctrl, VERSION)
        cpu = cpu_clock(mine, t0 + t_read)
        cpu = gradient(kernel, data, ws, params, mine, beta, t0 + t_read, cpu)
        t_done = monotonic() - t0
        step = step_size(ctrl, scales, eta, load(ctrl, VERSION) - read_version)
        axpy(params, -step, grad)
        version = fetch_add(ctrl, VERSION, 1) + 1
        t_apply = monotonic() - t0
        status = conclude(run, mine, read_version, version, t_read, t_done, t_apply, 1, step, cpu)
        if status >= 0:
            return status
    return STOPPED
