"""Leashed-SGD: consistent lock-free publishing with a real compare-and-swap.

A worker holds the latest version while computing its gradient on it, then builds
``latest - eta g`` in a free pool slot and installs it with a CAS on the latest pointer;
on failure it retries on the newer version, up to ``persistence`` attempts, then drops
the gradient.
"""

from __future__ import annotations

from time import thread_time
from typing import Any

import numpy as np

from real_exec.pool import SLOT_BITS, hold_latest, new_pool, publish, release
from real_exec.run_context import RunContext

__all__ = ["LeashedState", "leashed_worker"]

_MASK = (1 << SLOT_BITS) - 1


class LeashedState:
    """The vector pool (``2 m + 2`` slots) and the latest pointer."""

    def __init__(self, init: Any, threads: int) -> None:
        self.vectors, self.state, self.readers, self.latest = new_pool(init, 2 * threads + 2)

    def snapshot(self) -> Any:
        p = hold_latest(self.latest, self.readers)
        out = self.vectors[p & _MASK].copy()
        release(self.readers, p & _MASK)
        return out

    def final(self) -> Any:
        return self.vectors[int(self.latest[0]) & _MASK]


def leashed_worker(ctx: RunContext, i: int, shared: LeashedState) -> None:
    grad = np.empty(shared.vectors.shape[1], dtype=shared.vectors.dtype)
    rec, now = ctx.recorders[i], ctx.now
    vectors, state, readers, latest = shared.vectors, shared.state, shared.readers, shared.latest
    bound = ctx.config.persistence
    while ctx.claim():
        t_read = now()
        p = hold_latest(latest, readers)
        slot, read_version = p & _MASK, p >> SLOT_BITS
        cpu = thread_time()
        ctx.problem.grad(vectors[slot], grad)
        cpu = thread_time() - cpu
        ctx.direction(i, grad)
        release(readers, slot)
        t_done = now()
        version, attempts, step, live = publish(
            vectors, state, readers, latest, grad, read_version, ctx.scale, ctx.config.eta, bound or 0
        )
        if version == -2:  # cannot happen with 2m + 2 slots; fail loudly rather than corrupt
            raise RuntimeError("Leashed-SGD vector pool exhausted")
        if live > ctx.peak_live:
            ctx.peak_live = live
        t_apply = now()
        if version > 0:
            ctx.record_applied(i, step, grad)
            ctx.observe(version - 1 - read_version)
        rec.add(read_version, version, t_read, t_done, t_apply, attempts, step if version > 0 else 0.0, cpu)
