"""Compiled kernels of the fast engine: workers' clocks and the merge of their publishes.

A HOGWILD! worker without core contention runs a renewal process, so each worker's clock
is a running sum of its durations (:func:`worker_clocks`). The execution's publishes are
then the union of the workers' publish times in increasing order, simultaneous publishes
by worker index (:func:`merge_publishes`; the SimPy engine orders those by when they were
scheduled, so with discrete durations the two engines' versions can differ among ties).

A k-way merge finds the next publish by scanning the ``m`` workers' next publish times; each
step depends on the previous one, so one merge runs at the latency of that chain. The merge
here cuts the time axis at pivots into a few segments that are merged independently and
interleaved in one loop, so the processor overlaps their chains; the segments' outputs,
laid end to end, are exactly the single merge's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = ["merge_publishes", "worker_clocks"]

#: Segments merged side by side (4 overlapped chains ran fastest on a 2-core EPYC VM).
CHAINS = 4


@njit(cache=True)
def worker_clocks(read: Any, compute: Any, publish: Any, memory: Any, done_t: Any, apply_t: Any) -> None:
    """Fill ``done_t[k, i]`` and ``apply_t[k, i]``: when worker ``i``'s ``k``-th gradient is done
    and when it is published.

    ``read``, ``compute``, ``publish`` are ``(updates, workers)`` durations; a worker reads
    when it has published. The additions are the SimPy worker's, in its order:
    ``done = (start + read) + compute`` and ``apply = done + (publish + memory)``. The
    outputs may be the inputs themselves (``done_t`` is ``compute``, ``apply_t`` is
    ``publish`` or ``done_t``): each element is read before it is written.
    """
    k_max, m = compute.shape
    start = np.zeros(m)
    for k in range(k_max):
        for i in range(m):
            d = (start[i] + read[k, i]) + compute[k, i]
            a = d + (publish[k, i] + memory[i])
            done_t[k, i] = d
            apply_t[k, i] = a
            start[i] = a


@njit(cache=True)
def _count_upto(apply_t: Any, i: int, t: float) -> int:
    """How many of worker ``i``'s publishes happen at or before ``t`` (binary search)."""
    lo, hi = 0, apply_t.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if apply_t[mid, i] <= t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def merge_publishes(
    apply_t: Any,
    done_t: Any,
    worker: Any,
    read_version: Any,
    apply_version: Any,
    tau: Any,
    t_read: Any,
    t_done: Any,
    t_apply: Any,
) -> bool:
    """Fill the columns with the first ``worker.size`` publishes of all workers, in order.

    Returns False, leaving the columns incomplete, when some worker's drawn updates run
    out before then (draw more and call again).
    """
    k_max, m = apply_t.shape
    n = worker.size
    # Every publish up to `cut` (the earliest last drawn publish) is known.
    cut = apply_t[k_max - 1, 0]
    for i in range(1, m):
        cut = min(cut, apply_t[k_max - 1, i])
    known = 0
    for i in range(m):
        known += _count_upto(apply_t, i, cut)
    if known < n:
        return False
    # Segment c holds the publishes in (pivot[c-1], pivot[c]]; pivots spaced for about
    # n / CHAINS publishes each (publish rates are about constant; balance only affects speed).
    bounds = np.empty((CHAINS + 1, m), dtype=np.int64)
    bounds[0] = 0
    bounds[CHAINS] = k_max
    for c in range(1, CHAINS):
        pivot = cut * (c * n / CHAINS) / known
        for i in range(m):
            bounds[c, i] = max(_count_upto(apply_t, i, pivot), bounds[c - 1, i])
    first = np.zeros(CHAINS + 1, dtype=np.int64)
    for c in range(CHAINS):
        size = 0
        for i in range(m):
            size += bounds[c + 1, i] - bounds[c, i]
        first[c + 1] = first[c] + size
    count = np.empty(CHAINS, dtype=np.int64)
    heads = np.empty((CHAINS, m))
    ptr = bounds[:CHAINS].copy()
    steps = 0
    for c in range(CHAINS):
        count[c] = max(0, min(first[c + 1], n) - first[c]) if c < CHAINS - 1 else max(0, n - first[c])
        steps = max(steps, count[c])
        for i in range(m):
            heads[c, i] = apply_t[ptr[c, i], i] if ptr[c, i] < bounds[c + 1, i] else np.inf
    for j in range(steps):
        for c in range(CHAINS):
            if j < count[c]:
                head = heads[c]
                best, best_t = 0, head[0]
                for i in range(1, m):  # the earliest; the lowest worker among equal times
                    h = head[i]
                    earlier = h < best_t
                    best = i if earlier else best
                    best_t = h if earlier else best_t
                v = first[c] + j
                k = ptr[c, best]
                worker[v] = best
                t_read[v] = apply_t[k - 1, best] if k > 0 else 0.0
                t_done[v] = done_t[k, best]
                t_apply[v] = best_t
                k += 1
                ptr[c, best] = k
                if k < bounds[c + 1, best]:
                    head[best] = apply_t[k, best]
                elif c < CHAINS - 1:
                    head[best] = np.inf  # the rest of this worker is in later segments
                elif j + 1 < count[c]:
                    return False  # this worker's drawn updates ran out
    # A worker reads right after its own publish: its read version is its previous one.
    last = np.zeros(m, dtype=np.int64)
    for v in range(n):
        i = worker[v]
        read_version[v] = last[i]
        apply_version[v] = v + 1
        tau[v] = v - last[i]
        last[i] = v + 1
    return True
