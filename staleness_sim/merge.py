"""Compiled kernels of the fast engine: workers' clocks and the merge of their publishes.

A HOGWILD! worker without core contention runs a renewal process, so each worker's clock
is a running sum of its durations (:func:`worker_clocks`). The execution's publishes are
then the union of the workers' publish times in increasing order (:func:`merge_publishes`,
simultaneous publishes by worker index). The SimPy engine orders simultaneous events by when
they were scheduled; when publishes coincide (discrete durations, :func:`has_simultaneous`),
:func:`merge_publishes_exact` merges again with that rule.

A k-way merge finds the next publish among the ``m`` workers' next publish times (here the
earliest of the earliest per group of :data:`GROUP` workers, only the group whose worker
published scanned again); each step depends on the previous one, so one merge runs at the
latency of that chain. The merge here cuts the time axis at pivots into a few segments that
are merged independently and interleaved in one loop, so the processor overlaps their
chains; the segments' outputs, laid end to end, are exactly the single merge's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = ["has_simultaneous", "merge_publishes", "merge_publishes_exact", "worker_clocks"]

#: Segments merged side by side: independent merge chains that a core's out-of-order
#: execution overlaps (benchmarks/bench_simulator.py measures the choice).
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
    bounds, first = _segments(apply_t, cut, n, known)
    count = np.empty(CHAINS, dtype=np.int64)
    size = GROUP if m > GROUP else m  # workers per group; the last group may be short
    groups = (m + size - 1) // size
    heads = np.full((CHAINS, groups * size), np.inf)
    group_t = np.empty((CHAINS, groups))  # each group's earliest head, and its worker
    group_w = np.empty((CHAINS, groups), dtype=np.int64)
    ptr = bounds[:CHAINS].copy()
    steps = 0
    for c in range(CHAINS):
        count[c] = max(0, min(first[c + 1], n) - first[c]) if c < CHAINS - 1 else max(0, n - first[c])
        steps = max(steps, count[c])
        for i in range(m):
            heads[c, i] = apply_t[ptr[c, i], i] if ptr[c, i] < bounds[c + 1, i] else np.inf
        for g in range(groups):
            group_w[c, g], group_t[c, g] = _earliest(heads[c], g * size, size)
    for j in range(steps):
        for c in range(CHAINS):
            if j < count[c]:
                head = heads[c]
                g_best, best_t = 0, group_t[c, 0]
                for g in range(1, groups):  # the earliest; the lowest worker among equal times
                    h = group_t[c, g]
                    earlier = h < best_t
                    g_best = g if earlier else g_best
                    best_t = h if earlier else best_t
                best = group_w[c, g_best]
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
                group_w[c, g_best], group_t[c, g_best] = _earliest(head, g_best * size, size)
    _versions_in_order(worker, read_version, apply_version, tau, m)
    return True


#: Workers per group in :func:`merge_publishes`: the next publish is the earliest of the
#: groups' earliest heads, and only the group whose head moved is scanned again (about
#: ``m / GROUP + GROUP`` comparisons per publish instead of ``m``).
GROUP = 8


@njit(cache=True, inline="always")
def _earliest(head: Any, start: int, size: int) -> tuple[int, float]:
    """The earliest of ``head[start : start + size]`` and its index (the lowest among equal)."""
    best, best_t = start, head[start]
    for i in range(start + 1, start + size):
        h = head[i]
        earlier = h < best_t
        best = i if earlier else best
        best_t = h if earlier else best_t
    return best, best_t


@njit(cache=True)
def _segments(apply_t: Any, cut: float, n: int, known: int) -> tuple[Any, Any]:
    """``(bounds, first)``: segment ``c`` holds worker ``i``'s publishes ``bounds[c, i] ..
    bounds[c + 1, i] - 1``, those in ``(pivot[c - 1], pivot[c]]``, and begins at output row
    ``first[c]``; pivots are spaced for about ``n / CHAINS`` publishes each (publish rates
    are about constant; balance only affects speed)."""
    k_max, m = apply_t.shape
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
    return bounds, first


@njit(cache=True)
def _versions_in_order(worker: Any, read_version: Any, apply_version: Any, tau: Any, m: int) -> None:
    """HOGWILD!'s versions from the publish order: a worker reads right after its own
    publish, so its read version is its previous apply version."""
    last = np.zeros(m, dtype=np.int64)
    for v in range(worker.size):
        i = worker[v]
        read_version[v] = last[i]
        apply_version[v] = v + 1
        tau[v] = v - last[i]
        last[i] = v + 1


@njit(cache=True)
def has_simultaneous(worker: Any, t_apply: Any, apply_t: Any) -> bool:
    """Whether two different workers publish at the same instant among the merged publishes,
    or one of them at the instant of the last one (a tie at the cut)."""
    k_max, m = apply_t.shape
    n = worker.size
    count = np.zeros(m, dtype=np.int64)
    for v in range(n):
        count[worker[v]] += 1
        if v > 0 and t_apply[v] == t_apply[v - 1] and worker[v] != worker[v - 1]:
            return True
    for i in range(m):
        if n > 0 and i != worker[n - 1] and count[i] < k_max and apply_t[count[i], i] == t_apply[n - 1]:
            return True
    return False


@njit(cache=True, inline="always")
def _publish_phase(publish: Any, memory: Any, k: int, w: int) -> int:
    """Phase of the event that publishes update ``k`` of worker ``w``: 2 (its own publish
    timeout) when the publish takes time, else 1 (the compute timeout)."""
    return 2 if publish[k, w] + memory[w] > 0 else 1


@njit(cache=True, inline="always")
def _parent(read: Any, publish: Any, memory: Any, w: int, k: int, p: int) -> tuple[int, int]:
    """The event during whose processing event (w, k, p) was scheduled; k = -1: the worker's
    start. Phases: 0 read, 1 compute, 2 publish (a phase of duration 0 has no event, except
    compute, whose timeout is always scheduled)."""
    if p == 2:
        return k, 1
    if p == 1 and read[k, w] > 0:
        return k, 0
    if k == 0:
        return -1, 0
    return k - 1, _publish_phase(publish, memory, k - 1, w)


@njit(cache=True, inline="always")
def _event_time(read: Any, done_t: Any, apply_t: Any, w: int, k: int, p: int) -> float:
    if p == 2:
        return apply_t[k, w]
    if p == 1:
        return done_t[k, w]
    start = apply_t[k - 1, w] if k > 0 else 0.0
    return start + read[k, w]


@njit(cache=True, inline="always")
def _first(
    read: Any,
    publish: Any,
    memory: Any,
    done_t: Any,
    apply_t: Any,
    version: Any,
    a: int,
    b: int,
    ka: int,
    kb: int,
) -> bool:
    """Whether worker ``a``'s publish of update ``ka`` is processed before worker ``b``'s of
    ``kb``, both at the same instant, in the SimPy engine.

    SimPy processes simultaneous events in the order they were scheduled, and an event is
    scheduled while its parent (the worker's previous event) is processed: so compare the
    parents' times, then, if equal, the parents' order: by version if both published,
    else recursively. Workers' starts come first, in worker order.
    """
    pa = _publish_phase(publish, memory, ka, a)
    pb = _publish_phase(publish, memory, kb, b)
    while True:
        ka, pa = _parent(read, publish, memory, a, ka, pa)
        kb, pb = _parent(read, publish, memory, b, kb, pb)
        if ka < 0 or kb < 0:
            return a < b if ka < 0 and kb < 0 else ka < 0
        ta = _event_time(read, done_t, apply_t, a, ka, pa)
        tb = _event_time(read, done_t, apply_t, b, kb, pb)
        if ta != tb:
            return ta < tb
        if pa == _publish_phase(publish, memory, ka, a) and pb == _publish_phase(publish, memory, kb, b):
            return version[ka, a] < version[kb, b]


@njit(cache=True)
def merge_publishes_exact(
    read: Any,
    publish: Any,
    memory: Any,
    done_t: Any,
    apply_t: Any,
    worker: Any,
    read_version: Any,
    apply_version: Any,
    tau: Any,
    t_read: Any,
    t_done: Any,
    t_apply: Any,
) -> bool:
    """As :func:`merge_publishes`, ordering simultaneous publishes as the SimPy engine does.

    One sequential merge with :func:`_first` on ties: slower, used only when
    :func:`has_simultaneous` finds ties. ``read`` and ``publish`` are the durations (not
    overwritten by the clocks).
    """
    k_max, m = apply_t.shape
    n = worker.size
    version = np.zeros((k_max, m), dtype=np.int64)
    ptr = np.zeros(m, dtype=np.int64)
    last = np.zeros(m, dtype=np.int64)
    head = np.empty(m)
    simple = np.empty(m, dtype=np.bool_)  # the next update has no read and no publish phase
    parent_t = np.zeros(m)  # when the previous publish (or the start) happened ...
    parent_v = np.arange(m) - m  # ... and its version (starts: before all, in worker order)
    for i in range(m):
        head[i] = apply_t[0, i]
        simple[i] = read[0, i] <= 0 and publish[0, i] + memory[i] <= 0
    for v in range(n):
        t_min = head[0]
        for i in range(1, m):
            t_min = min(t_min, head[i])
        best = -1
        for i in range(m):  # among the workers publishing at t_min, SimPy's first
            if head[i] != t_min:
                continue
            if best < 0:
                best = i
            elif simple[i] and simple[best]:
                # both publish with their compute timeout, scheduled by their previous
                # publish (or start): compare those, by time and then by version
                if parent_t[i] < parent_t[best] or (
                    parent_t[i] == parent_t[best] and parent_v[i] < parent_v[best]
                ):
                    best = i
            elif _first(read, publish, memory, done_t, apply_t, version, i, best, ptr[i], ptr[best]):
                best = i
        k = ptr[best]
        worker[v] = best
        read_version[v] = last[best]
        apply_version[v] = v + 1
        tau[v] = v - last[best]
        t_read[v] = apply_t[k - 1, best] if k > 0 else 0.0
        t_done[v] = done_t[k, best]
        t_apply[v] = apply_t[k, best]
        version[k, best] = v + 1
        last[best] = v + 1
        ptr[best] = k + 1
        if k + 1 == k_max:
            return v + 1 == n
        head[best] = apply_t[k + 1, best]
        simple[best] = read[k + 1, best] <= 0 and publish[k + 1, best] + memory[best] <= 0
        parent_t[best] = apply_t[k, best]
        parent_v[best] = v + 1
    return True
