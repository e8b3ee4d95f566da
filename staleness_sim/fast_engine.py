"""The fast engine: vectorized for HOGWILD! and synchronous SGD, a compiled event loop for the others.

Lock-based SGD, Rennala SGD and Leashed-SGD couple the workers (a mutex, a compare-and-swap), so their
fast path is the compiled event loop of :mod:`staleness_sim.compiled`, which orders events
as SimPy does. The rest of this module is the vectorized path, for executions whose
staleness follows from completion times alone.

With HOGWILD! and no core contention every worker runs a renewal process: update ``k`` of
worker ``i`` starts when update ``k - 1`` ends and spends ``read + compute + publish``, so
its completion times are a running sum of its durations. Its read version is the
number of publishes before its read started (its own previous apply version: a worker reads
right after it publishes) and its apply version is its rank among all publishes: a merge
of the workers' sorted publish times (:mod:`staleness_sim.merge`). Synchronous SGD is
covered as well: rounds end when the slowest worker arrives, and staleness is 0.

The durations come from the same :class:`~staleness_sim.durations.Durations` as the SimPy
engine's, and simultaneous events (discrete durations) are ordered as SimPy orders them
(by scheduling order), so both engines return the same Trace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from staleness_sim.config import SimConfig
from staleness_sim.durations import Durations, expected_draws
from staleness_sim.merge import has_simultaneous, merge_publishes, merge_publishes_exact, worker_clocks
from staleness_sim.result import SimResult
from staleness_sim.timing import take_together
from theory.trace import Trace, constant_column, empty_columns

__all__ = ["EVENT_LOOP", "VECTORIZED", "fast_supported", "simulate_fast"]

Columns = dict[str, npt.NDArray[Any]]


#: The algorithms the fast engine runs through the compiled event loop
#: (:mod:`staleness_sim.compiled`); the vectorized ones are :data:`VECTORIZED`, below.
EVENT_LOOP = ("lock", "leashed", "rennala")


def fast_supported(config: SimConfig) -> str | None:
    """``None`` if the fast engine covers ``config``, else the reason it does not."""
    covered = (*VECTORIZED, *EVENT_LOOP)
    if config.algo not in covered:
        return f"the fast engine covers {', '.join(covered)}, not algo {config.algo!r}"
    cores = config.profile.cores
    if cores is not None and cores < config.workers:
        return "the fast engine needs cores >= workers (it has no model of time-shared cores)"
    if config.algo == "hogwild" and config.profile.convoy > 0:
        return "the fast engine's HOGWILD! workers are independent (convoy > 0 couples their publishes)"
    if config.algo == "leashed" and config.profile.stall > 0:
        return "the fast engine's Leashed-SGD gradients do not stall (stall > 0 ties them to the publishes)"
    if config.algo == "leashed" and (
        config.profile.publish_cached is not None or config.profile.publish_retry is not None
    ):
        return "the fast engine's Leashed-SGD publishes take one timing (publish_cached, publish_retry)"
    if config.profile.gil:
        return "the fast engine has no interpreter lock (gil = true couples the workers)"
    if config.profile.interpreted > 0 and config.algo in ("lock", "rennala"):
        return "the fast engine has no model of interpreted code outside the mutex (interpreted > 0)"
    return None


def simulate_fast(
    config: SimConfig, progress: Callable[[int], None] | None = None, keep_trace: bool = True
) -> SimResult:
    """Simulate ``config``: HOGWILD! and synchronous SGD without an event loop (see the module
    docstring), lock-based and Leashed-SGD with the compiled event loop
    (:mod:`staleness_sim.compiled`). ``progress`` is called with the gradients recorded so
    far (by the event loop, about 100 times per run); without ``keep_trace`` the result
    keeps only the summary's tally."""
    reason = fast_supported(config)
    if reason is not None:
        raise ValueError(reason)
    if config.algo in EVENT_LOOP:
        from staleness_sim.compiled.engine import simulate_compiled

        trace, tally, peak, mean = simulate_compiled(config, progress, keep_trace)
        return SimResult(trace, "fast", config.seed, peak, mean, tally=tally)
    columns = VECTORIZED[config.algo](config)
    n = config.gradients
    meta = config.meta() | {"engine": "fast"}
    trace = Trace.from_consistent_columns(  # versions and staleness built together (tested)
        meta=meta,
        attempts=constant_column(1, n, np.int32),
        step_size=constant_column(np.nan, n),
        dropped=constant_column(False, n, bool),
        **columns,
    )
    result = SimResult(trace, "fast", config.seed, peak_live_vectors=1, mean_live_vectors=1.0)
    return result if keep_trace else result.without_trace()


def _hogwild(config: SimConfig) -> Columns:
    n = config.gradients
    rows = 0
    while True:
        d = Durations.draw(config.profile, config.workers, n, config.seed)
        # what the fastest worker needs, with a margin (a long run's blocks are smaller);
        # more only if a worker ran out
        rows = max(rows * 2, expected_draws(config.profile, config.workers, n))
        _, _, done_t, apply_t = _clocks(d, rows, overwrite=True)
        cols = _empty_columns(n)  # after the draws: may reuse the memory of their temporaries
        if merge_publishes(apply_t, done_t, *cols.values()):
            break
        if rows > 64 * n:
            raise RuntimeError("the workers' publish times do not advance (are all durations zero?)")
    if has_simultaneous(cols["worker"], cols["t_apply"], apply_t):
        # Discrete durations: order the ties as SimPy does, from durations kept intact.
        while True:
            d = Durations.draw(config.profile, config.workers, n, config.seed)
            read, publish, done_t, apply_t = _clocks(d, rows, overwrite=False)
            if merge_publishes_exact(read, publish, d.memory, done_t, apply_t, *cols.values()):
                break
            rows *= 2
    return cols


Array = npt.NDArray[np.float64]


def _clocks(d: Durations, rows: int, overwrite: bool) -> tuple[Array, Array, Array, Array]:
    """The read and publish durations, and every worker's gradient-done and publish times,
    over ``rows`` updates.

    With ``overwrite`` the times are written over the drawn durations where those are not
    needed afterwards (fresh memory is a large part of this engine's time); the durations
    returned may then hold times, and ``d`` must not be used again.
    """
    read, compute, publish = take_together((d.read, d.compute, d.publish), (rows,) * 3)
    if not overwrite:
        done_t, apply_t = np.empty(compute.shape), np.empty(compute.shape)
    else:
        done_t = compute if compute.flags.writeable else np.array(compute)
        if d.publish.constant == 0.0 and not d.memory.any():
            apply_t = done_t  # d + (0.0 + 0.0) == d: publish times are the done times
        else:
            apply_t = publish if publish.flags.writeable else np.empty(compute.shape)
    worker_clocks(read, compute, publish, d.memory, done_t, apply_t)
    return read, publish, done_t, apply_t


#: The columns the merge kernels fill, in the Trace's order (their positional arguments).
KERNEL_COLUMNS = ("worker", "read_version", "apply_version", "tau", "t_read", "t_grad_done", "t_apply")


def _empty_columns(n: int) -> Columns:
    # Allocated here rather than inside the compiled kernels: numpy reuses its heap for
    # arrays of this size, the kernels' allocator would touch fresh pages on every call.
    return empty_columns(n, KERNEL_COLUMNS)


def _sync(config: SimConfig) -> Columns:
    n, m = config.gradients, config.workers
    d = Durations.draw(config.profile, m, n, config.seed)
    rounds = -(-n // m)
    cols = _empty_columns(n)
    read, compute, publish = take_together((d.read, d.compute, d.publish), (rounds,) * 3)
    if not _rounds_distinct(read, compute, publish, d.memory, *cols.values()):
        _rounds(read, compute, publish, d.memory, *cols.values())  # some rounds end in a tie
    return cols


@njit(cache=True)
def _level_time(clock: float, r_dur: float, c_dur: float, level: int) -> float:
    """Time of a sync worker's round-start (0), read-done (1) or compute-done (2) event."""
    if level == 0:
        return clock
    if level == 1:
        return clock + r_dur
    return (clock + r_dur) + c_dur


@njit(cache=True)
def _arrives_first(read: Any, compute: Any, r: int, clock: float, rank: Any, a: int, b: int) -> bool:
    """Whether worker ``a`` reaches the barrier before worker ``b`` in round ``r`` (SimPy's order).

    A worker arrives while its last event of the round is processed: its compute timeout,
    or, if compute took no time, its read timeout, or its round start. Simultaneous events
    are processed in the order they were scheduled, i.e. in their parents' order: compare
    the parents' times, then theirs, down to the round starts, which come first, in
    ``rank`` order (the previous round's last arrival, then the others as they arrived).
    """
    ra, rb = read[r, a], read[r, b]
    ca, cb = compute[r, a], compute[r, b]
    la = 2 if ca > 0 else (1 if ra > 0 else 0)
    lb = 2 if cb > 0 else (1 if rb > 0 else 0)
    while True:
        ta, tb = _level_time(clock, ra, ca, la), _level_time(clock, rb, cb, lb)
        if ta != tb:
            return ta < tb
        if la == 0 or lb == 0:
            return rank[a] < rank[b] if la == 0 and lb == 0 else la == 0
        la = 1 if la == 2 and ra > 0 else 0  # the parent: the read timeout or the round start
        lb = 1 if lb == 2 and rb > 0 else 0


@njit(cache=True)
def _write_round(
    r: int,
    clock: float,
    done: Any,
    end: float,
    worker: Any,
    read_version: Any,
    apply_version: Any,
    tau: Any,
    t_read: Any,
    t_done: Any,
    t_apply: Any,
) -> None:
    """The rows of round ``r`` (one per worker, in worker order; the last round may be cut):
    all read version ``r`` at ``clock``, are done at ``done[i]`` and applied at ``end``."""
    m, n = done.size, worker.size
    for i in range(m):
        row = r * m + i
        if row < n:
            worker[row] = i
            read_version[row] = r
            apply_version[row] = r + 1
            tau[row] = 0
            t_read[row] = clock
            t_done[row] = done[i]
            t_apply[row] = end


@njit(cache=True)
def _rounds_distinct(
    read: Any,
    compute: Any,
    publish: Any,
    memory: Any,
    worker: Any,
    read_version: Any,
    apply_version: Any,
    tau: Any,
    t_read: Any,
    t_done: Any,
    t_apply: Any,
) -> bool:
    """:func:`_rounds` when every round has one last arrival: False (columns incomplete) at
    the first round where the latest arrival time is shared.

    Rows are written in worker order, so of a round's arrival order only its last arrival
    matters (it draws the publish duration); the order among the others matters only to
    break a later round's ties, which this path never meets. Finding the last is a scan,
    where :func:`_rounds` sorts every round.
    """
    rounds, m = read.shape
    used = np.zeros(m, dtype=np.int64)  # publish draws consumed by each worker
    done = np.empty(m)
    clock = 0.0
    for r in range(rounds):
        last, latest, ties = 0, -np.inf, 0
        for i in range(m):
            d = (clock + read[r, i]) + compute[r, i]  # when worker i arrives
            done[i] = d
            if d > latest:
                last, latest, ties = i, d, 0
            elif d == latest:
                ties += 1
        if ties:
            return False
        end = latest + (publish[used[last], last] + memory[last])
        used[last] += 1
        _write_round(r, clock, done, end, worker, read_version, apply_version, tau, t_read, t_done, t_apply)
        clock = end
    return True


@njit(cache=True)
def _rounds(
    read: Any,
    compute: Any,
    publish: Any,
    memory: Any,
    worker: Any,
    read_version: Any,
    apply_version: Any,
    tau: Any,
    t_read: Any,
    t_done: Any,
    t_apply: Any,
) -> None:
    """Fill the columns with synchronous rounds.

    Every worker reads at the round's start; the last arrival (:func:`_arrives_first`)
    draws a publish duration and applies the averaged update; all rows of round ``r`` read
    version ``r`` (staleness 0).
    """
    rounds, m = read.shape
    used = np.zeros(m, dtype=np.int64)  # publish draws consumed by each worker
    rank = np.arange(m)  # order of the round's start events
    order = np.empty(m, dtype=np.int64)
    done = np.empty(m)
    clock = 0.0
    for r in range(rounds):
        for i in range(m):
            done[i] = (clock + read[r, i]) + compute[r, i]  # when worker i arrives
        for j in range(m):  # arrival order: insertion sort, SimPy's order among equal times
            p = j - 1
            while p >= 0 and (
                done[j] < done[order[p]]
                or (done[j] == done[order[p]] and _arrives_first(read, compute, r, clock, rank, j, order[p]))
            ):
                order[p + 1] = order[p]
                p -= 1
            order[p + 1] = j
        last = order[m - 1]
        end = done[last] + (publish[used[last], last] + memory[last])
        used[last] += 1
        rank[last] = 0  # it goes on at once; the others resume in the order they arrived
        for j in range(m - 1):
            rank[order[j]] = j + 1
        _write_round(r, clock, done, end, worker, read_version, apply_version, tau, t_read, t_done, t_apply)
        clock = end


#: Algorithm -> its vectorized path (see the module docstring): its Trace's columns.
VECTORIZED: dict[str, Callable[[SimConfig], Columns]] = {"hogwild": _hogwild, "sync": _sync}
