"""The vectorized engine, for executions whose staleness follows from completion times alone.

With HOGWILD! and no core contention every worker runs a renewal process: update ``k`` of
worker ``i`` starts when update ``k - 1`` ends and spends ``read + compute + publish``.
Its read version is the number of publishes that happened before its read started, and
its apply version is its rank among all publishes. Both follow from sorting the event
times (``numpy.lexsort``), with ties broken as the SimPy engine breaks them (by worker,
a publish before the same worker's next read). The durations are drawn from the same
random streams, in the same batches, as the SimPy engine, so both engines return the same
Trace for the same configuration. Synchronous SGD is covered as well (rounds of the
slowest worker, staleness 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from staleness_sim.context import SimContext
from staleness_sim.engine import SimConfig
from staleness_sim.result import SimResult
from theory.trace import Trace

__all__ = ["fast_supported", "simulate_fast"]


def fast_supported(config: SimConfig) -> str | None:
    """``None`` if the fast engine covers ``config``, else the reason it does not."""
    cores = config.profile.cores
    if config.algo not in ("hogwild", "sync"):
        return f"the fast engine covers hogwild and sync, not {config.algo}"
    if cores is not None and cores < config.workers:
        return "the fast engine needs cores >= workers (time sharing couples the workers)"
    return None


def simulate_fast(config: SimConfig) -> SimResult:
    """Simulate ``config`` without an event loop; see the module docstring."""
    reason = fast_supported(config)
    if reason is not None:
        raise ValueError(reason)
    ctx = _fresh(config)
    columns = _hogwild(ctx, config) if config.algo == "hogwild" else _sync(ctx, config)
    meta = config.meta() | {"engine": "fast"}
    trace = Trace.from_columns(meta=meta, step_size=np.full(columns["worker"].size, np.nan), **columns)
    return SimResult(trace, "fast", config.seed, peak_live_vectors=1, mean_live_vectors=1.0)


@njit(cache=True)
def _merge(apply_t: Any, done_t: Any, n: int) -> tuple[Any, Any, Any, Any, Any, bool]:
    """Merge the workers' sorted publish times into the first ``n`` publishes.

    Ties go to the lowest worker index, as in the SimPy engine. A worker reads right after
    its own publish, so its read version is its previous apply version (0 at first). Returns
    ``ok = False`` if some worker ran out of drawn updates before ``n`` publishes.
    """
    m, k_max = apply_t.shape
    ptr = np.zeros(m, dtype=np.int64)
    last = np.zeros(m, dtype=np.int64)
    worker = np.empty(n, dtype=np.int64)
    read_version = np.empty(n, dtype=np.int64)
    t_read, t_done, t_apply = np.empty(n), np.empty(n), np.empty(n)
    for v in range(n):
        best, best_t = -1, np.inf
        for i in range(m):
            if ptr[i] == k_max:
                return worker, read_version, t_read, t_done, t_apply, False
            t = apply_t[i, ptr[i]]
            if t < best_t:
                best, best_t = i, t
        k = ptr[best]
        worker[v] = best
        read_version[v] = last[best]
        t_read[v] = apply_t[best, k - 1] if k > 0 else 0.0
        t_done[v] = done_t[best, k]
        t_apply[v] = best_t
        last[best] = v + 1
        ptr[best] = k + 1
    return worker, read_version, t_read, t_done, t_apply, True


def _hogwild(ctx: SimContext, config: SimConfig) -> dict[str, npt.NDArray[np.generic]]:
    m, n = config.workers, config.gradients
    rates = np.array([1.0 / config.profile.speed_of(i) for i in range(m)])
    share = n * rates.max() / rates.sum()  # expected updates of the fastest worker
    per_worker = int(share * 1.02 + 6 * np.sqrt(share)) + 16
    prof = config.profile
    zero_read_publish = (
        all(getattr(model, "value", None) == 0.0 for model in (prof.read, prof.publish))
        and prof.copy_time == 0.0
    )
    while True:
        apply_t = np.empty((m, per_worker))
        done_t = np.empty((m, per_worker))
        for i, t in enumerate(ctx.timing):
            # The SimPy worker draws read, compute, publish in this order for each update and
            # advances its clock by each in turn; a cumulative sum does the same additions.
            if zero_read_publish:  # x + 0.0 == x: the zero phases add nothing, skip them
                apply_t[i] = np.cumsum(t.compute.take(per_worker))
                done_t[i] = apply_t[i]
            else:
                steps = np.empty((per_worker, 3))
                steps[:, 0] = t.read.take(per_worker)
                steps[:, 1] = t.compute.take(per_worker)
                steps[:, 2] = t.publish.take(per_worker) + t.memory
                clock = np.cumsum(steps.ravel()).reshape(per_worker, 3)
                done_t[i], apply_t[i] = clock[:, 1], clock[:, 2]
        worker, read_version, t_read, t_done, t_apply, ok = _merge(apply_t, done_t, n)
        if ok:
            break
        per_worker *= 2
        ctx = _fresh(config)
    return {
        "worker": worker,
        "read_version": read_version,
        "apply_version": np.arange(1, n + 1),
        "t_read": t_read,
        "t_grad_done": t_done,
        "t_apply": t_apply,
        "attempts": np.ones(n, dtype=np.int64),
    }


def _fresh(config: SimConfig) -> SimContext:
    import simpy

    return SimContext(
        simpy.Environment(),
        config.profile,
        config.workers,
        config.gradients,
        np.random.SeedSequence(config.seed),
    )


def _sync(ctx: SimContext, config: SimConfig) -> dict[str, npt.NDArray[np.generic]]:
    m = config.workers
    rounds = -(-config.gradients // m)
    read = np.array([t.read.take(rounds) for t in ctx.timing])  # (m, rounds)
    comp = np.array([t.compute.take(rounds) for t in ctx.timing])
    pub = np.array([t.publish.take(rounds) for t in ctx.timing])
    used = np.zeros(m, dtype=np.int64)  # publish draws consumed: only the last arrival draws
    clock = 0.0
    rows: dict[str, list[npt.NDArray[np.generic]]] = {
        k: []
        for k in ("worker", "read_version", "apply_version", "t_read", "t_grad_done", "t_apply", "attempts")
    }
    for r in range(rounds):
        done = clock + read[:, r] + comp[:, r]
        last = m - 1 - int(np.argmax(done[::-1]))  # among ties SimPy's last arrival is the highest
        end = done[last] + (pub[last, used[last]] + ctx.timing[last].memory)
        used[last] += 1
        rows["worker"].append(np.arange(m))
        rows["read_version"].append(np.full(m, r))
        rows["apply_version"].append(np.full(m, r + 1))
        rows["t_read"].append(np.full(m, clock))
        rows["t_grad_done"].append(done)
        rows["t_apply"].append(np.full(m, end))
        rows["attempts"].append(np.ones(m, dtype=np.int64))
        clock = end
    return {k: np.concatenate(v)[: config.gradients] for k, v in rows.items()}
