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

import numpy as np
import numpy.typing as npt

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
        clocks = []
        for t in ctx.timing:
            # The SimPy worker draws read, compute, publish in this order for each update and
            # advances its clock by each in turn; a cumulative sum does the same additions.
            steps = np.zeros((per_worker, 3))
            if zero_read_publish:  # x + 0.0 == x: the zero phases add nothing, skip them
                steps[:, 2] = np.cumsum(t.compute.take(per_worker))
                steps[:, 1] = steps[:, 2]
                steps[1:, 0] = steps[:-1, 2]
            else:
                steps[:, 0] = t.read.take(per_worker)
                steps[:, 1] = t.compute.take(per_worker)
                steps[:, 2] = t.publish.take(per_worker) + t.memory
                steps.ravel()[:] = np.cumsum(steps.ravel())
            clocks.append(steps)
        # clock[i, k] = (read done, compute done, publish done) of update k of worker i
        clock = np.stack(clocks)
        apply_t = clock[:, :, 2]
        cutoff = np.partition(apply_t.ravel(), n - 1)[n - 1]
        if np.all(apply_t[:, -1] >= cutoff):
            break
        per_worker *= 2
        ctx = _fresh(config)
    # Publish order: by time, ties by worker (a stable sort of the worker-major array; the
    # faster unstable sort suffices when no two publishes share a time).
    flat_t = apply_t.ravel()
    order = np.argsort(flat_t)
    if np.any(np.diff(flat_t[order]) == 0):
        order = np.argsort(flat_t, kind="stable")
    order = order[:n]
    apply_version = np.empty(apply_t.size, dtype=np.int64)
    apply_version[order] = np.arange(1, n + 1)
    # A worker reads right after its own publish, so it reads its previous apply version
    # (0 for its first update); unpublished slots beyond the first n are never selected.
    versions = apply_version.reshape(m, per_worker)
    read_version = np.zeros_like(versions)
    read_version[:, 1:] = versions[:, :-1]
    flat = order  # rows in publish order
    start = np.zeros_like(apply_t)  # an update starts when the worker's previous one ends
    start[:, 1:] = apply_t[:, :-1]
    return {
        "worker": flat // per_worker,
        "read_version": read_version.ravel()[flat],
        "apply_version": np.arange(1, n + 1),
        "t_read": start.ravel()[flat],
        "t_grad_done": clock[:, :, 1].ravel()[flat],
        "t_apply": apply_t.ravel()[flat],
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
