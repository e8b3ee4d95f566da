"""A problem and a schedule small enough to replay by hand, shared by the replay tests."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from real_exec.executor.problems import Problem
from theory.trace import Trace

A = np.diag([1.0, 2.0, 3.0])
B = np.array([1.0, -1.0, 0.5])


@njit(nogil=True)
def _exact_gradient(p: Any, out: Any, data: Any, ws: Any) -> None:
    a, b = data
    out[:] = a @ p - b


def hand_quadratic() -> Problem:
    """f(x) = 1/2 x^T A x - b^T x, exact gradients (no noise): the arithmetic can be replayed by hand."""

    def evaluate(p: np.ndarray) -> dict[str, float]:
        return {"loss": float(0.5 * p @ A @ p - B @ p + 1.0)}

    init = np.array([1.0, 1.0, 1.0])
    return Problem("hand", 3, np.dtype("float64"), _exact_gradient, (A, B), evaluate, lambda r: init.copy())


def hand_schedule(t_apply: tuple[float, ...] = (1.0, 1.8, 2.0, 3.3, 3.6, 4.0)) -> Trace:
    # Two workers, lock-based: the rows in the order they finished, not in publish order.
    # update v (1-based) read version r: 1<-0, 2<-0, 3<-1, 4<-3, 5<-2 ; one dropped gradient.
    return Trace.from_columns(
        worker=[0, 1, 0, 1, 0, 1],
        read_version=[0, 0, 1, 3, 2, 4],
        apply_version=[1, 2, 3, 4, 5, -1],
        t_read=[0.0, 0.0, 1.0, 2.5, 1.8, 3.0],
        t_grad_done=[0.9, 1.7, 1.9, 3.2, 3.5, 3.9],
        t_apply=list(t_apply),
        attempts=[1, 1, 1, 1, 1, 3],
        step_size=[0.1] * 6,
    )
