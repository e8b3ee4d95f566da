"""Leashed-SGD: consistent lock-free publishing with a real compare-and-swap.

A worker holds the latest version while computing its gradient on it, then builds
``latest - eta g`` in a free pool slot and installs it with a CAS on the latest pointer;
on failure it retries on the newer version, up to ``persistence`` attempts, then drops
the gradient.
"""

from __future__ import annotations

from typing import Any

from numba import njit

from real_exec.executor.algorithms.steps import (
    STOPPED,
    TABLE,
    claim,
    conclude,
    cpu_clock,
    enter,
    gradient,
)
from real_exec.executor.atomics import load
from real_exec.executor.native import monotonic
from real_exec.executor.pool import SLOT_BITS, SLOT_MASK, hold_latest, new_pool, publish, release
from real_exec.executor.recorder import PEAK

__all__ = ["LeashedState", "leashed_loop"]


class LeashedState:
    """The vector pool (``2 m + 2`` slots) and the latest pointer."""

    def __init__(self, init: Any, threads: int, persistence: int | None = None) -> None:
        self.vectors, self.state, self.readers, self.latest = new_pool(init, 2 * threads + 2)
        self.bound = persistence or 0

    def arguments(self, worker: int) -> tuple[Any, ...]:
        return (self.vectors, self.state, self.readers, self.latest, self.bound)

    def snapshot(self) -> Any:
        p = hold_latest(self.latest, self.readers)
        out = self.vectors[p & SLOT_MASK].copy()
        release(self.readers, p & SLOT_MASK)
        return out

    def final(self) -> Any:
        return self.vectors[int(self.latest[0]) & SLOT_MASK]


@njit(nogil=True)
def leashed_loop(
    vectors: Any,
    state: Any,
    readers: Any,
    latest: Any,
    bound: int,
    kernel: Any,
    data: Any,
    ws: Any,
    run: Any,
    mine: Any,
) -> int:
    ctrl, scales, _, eta, beta, _, origin = run
    grad, _, _, _, stats, _, _ = mine
    t0 = enter(ctrl, origin)
    while claim(ctrl):
        t_read = monotonic() - t0
        p = hold_latest(latest, readers)
        slot, read_version = p & SLOT_MASK, p >> SLOT_BITS
        cpu = cpu_clock(mine, t0 + t_read)
        cpu = gradient(kernel, data, ws, vectors[slot], mine, beta, t0 + t_read, cpu)
        release(readers, slot)
        t_done = monotonic() - t0
        version, attempts, step, live = publish(
            vectors, state, readers, latest, grad, read_version, scales[load(ctrl, TABLE)], eta, bound
        )
        if version == -2:  # cannot happen with 2m + 2 slots; fail loudly rather than corrupt
            raise RuntimeError("Leashed-SGD vector pool exhausted")
        stats[PEAK] = max(stats[PEAK], live)
        t_apply = monotonic() - t0
        status = conclude(run, mine, read_version, version, t_read, t_done, t_apply, attempts, step, cpu)
        if status >= 0:
            return status
    return STOPPED
