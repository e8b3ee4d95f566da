"""Compile every numba kernel a run uses before its clock starts (the first call compiles)."""

from __future__ import annotations

from functools import cache

import numpy as np

from real_exec.executor import atomics, kernels, pool

__all__ = ["compile_kernels"]


@cache
def compile_kernels(dtype: str) -> None:
    """Call each kernel once on tiny arrays of ``dtype`` (cached on disk by numba)."""
    x = np.zeros(4, dtype=dtype)
    y = np.ones(4, dtype=dtype)
    kernels.copy_into(x, y)
    kernels.axpy(x, 0.5, y)
    kernels.subtract_scaled(x, y, 0.5, y)
    kernels.heavy_ball(x.copy(), y.copy(), 0.5)
    kernels.seed_thread(0)
    slots = np.zeros(3, dtype=np.int64)
    atomics.cas(slots, 0, 0, 1)
    atomics.fetch_add(slots, 1, 1)
    atomics.load(slots, 0)
    vectors, state, readers, latest = pool.new_pool(y, 3)
    p = pool.hold_latest(latest, readers)
    pool.release(readers, p & 0xFFFF)
    s = pool.claim_free(state, readers)
    pool.live_count(state, readers)
    atomics.cas(latest, 0, p, pool.pack(1, s))
    pool.publish(vectors, state, readers, latest, y, 0, np.ones(2), 0.1, 1)
