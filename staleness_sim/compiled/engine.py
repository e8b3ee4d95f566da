"""Run the compiled event loop for a configuration: durations in, a Trace (or a tally) out.

The loop (:func:`~staleness_sim.compiled.loop.run_loop`) stops when a worker runs out of
drawn durations, when its output rows are used, or at the end; this driver draws more
(the next blocks of the same random streams, :class:`~staleness_sim.timing.PhaseDraws`),
hands it the next rows (reporting progress, or, without a Trace, tallying a chunk), and
resumes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from staleness_sim.compiled.loop import LEASHED, LOCK, RENNALA, run_loop
from staleness_sim.compiled.state import (
    AREA,
    BUILDING,
    DONE,
    DONE_EID,
    FULL,
    HELD_OTHER,
    LAST,
    PEAK,
    POS,
    PRIVATE,
    RECORDS,
    T_END,
    VERSION,
    new_state,
)
from staleness_sim.config import SimConfig
from staleness_sim.durations import Durations, expected_draws
from staleness_sim.sim_context import time_averaged_live
from staleness_sim.timing import PhaseDraws, take_together
from theory.analysis import Tally
from theory.rennala import drop_unfinished
from theory.trace import Trace, constant_column, empty_columns

__all__ = ["CHUNK", "simulate_compiled"]

#: Output rows per chunk when no Trace is kept (a few MiB of buffers).
CHUNK = 1 << 16

#: The Trace columns the loop writes, in the order of its ``out`` argument.
OUT_COLUMNS = (
    "worker",
    "read_version",
    "apply_version",
    "tau",
    "t_read",
    "t_grad_done",
    "t_apply",
    "attempts",
    "dropped",
)


class _Phase:
    """One phase's durations as the loop reads them: every worker's first ``rows``, grown on demand."""

    def __init__(self, draws: PhaseDraws, rows: int, array: npt.NDArray[np.float64]) -> None:
        self.draws, self.rows = draws, rows
        self.array = np.ascontiguousarray(array)

    @classmethod
    def of(cls, phases: tuple[PhaseDraws, ...], rows: int) -> list[_Phase]:
        """The phases' first ``rows`` durations (a constant: one, read again), drawn together
        (:func:`~staleness_sim.timing.take_together`)."""
        counts = [1 if p.constant is not None else max(1, rows) for p in phases]
        arrays = take_together(phases, counts)
        return [cls(p, n, a) for p, n, a in zip(phases, counts, arrays, strict=True)]

    def _take(self) -> npt.NDArray[np.float64]:
        return np.ascontiguousarray(self.draws.take(self.rows))

    def grow(self) -> None:
        self.rows *= 2
        self.array = self._take()


def simulate_compiled(
    config: SimConfig, progress: Callable[[int], None] | None = None, keep_trace: bool = True
) -> tuple[Trace | None, Tally | None, int, float]:
    """Simulate a lock-based, Rennala or Leashed-SGD ``config``: its Trace, or without ``keep_trace``
    its tally (the other is ``None``), and the peak and time-averaged live vectors."""
    codes = {"lock": LOCK, "leashed": LEASHED, "rennala": RENNALA}
    if config.algo not in codes:
        raise ValueError(f"the compiled event loop runs {', '.join(codes)}, not algo {config.algo!r}")
    n, m, profile = config.gradients, config.workers, config.profile
    d = Durations.draw(profile, m, n, config.seed)
    rows = expected_draws(profile, m, n)
    phases = _Phase.of((d.read, d.compute, d.publish), rows)
    constant = np.array([p.draws.constant is not None for p in phases])
    state = new_state(m, n, holders=config.algo == "leashed", versions=config.abandon)
    cols = empty_columns(n if keep_trace else min(n, CHUNK), OUT_COLUMNS)
    out = tuple(cols.values())
    # with a Trace, the result tallies it when asked
    chunks = None if keep_trace else _ChunkTally(config.batch if config.algo == "rennala" else None)
    step = max(1, n // 100) if progress is not None and keep_trace else n
    limit = min(n, step) if keep_trace else len(out[0])
    counters = state["counters"]
    memory = np.ascontiguousarray(d.memory, dtype=np.float64)
    while True:
        status = run_loop(
            codes[config.algo],
            profile.lock_policy == "fifo",
            float(profile.lock_handoff),
            int(config.persistence or 0),
            config.batch,
            int(config.threshold or 0),
            config.abandon,
            float(profile.cas_latency),
            float(profile.cas_window),
            n,
            limit,
            phases[0].array,
            phases[1].array,
            phases[2].array,
            constant,
            memory,
            counters,
            state["clocks"],
            state["carry"],
            state["carry_t"],
            state["used"],
            state["node_t"],
            state["node_id"],
            state["node_w"],
            state["sleepers"],
            state["holders"],
            state["vqueue"],
            *out,
        )
        if status == DONE:
            break
        if status == FULL:
            if keep_trace:
                limit = min(n, limit + step)
            else:
                assert chunks is not None
                chunks.add(out, int(counters[POS]), int(counters[VERSION]) + 1)
                counters[POS] = 0
            if progress is not None:
                progress(int(counters[RECORDS]))
            continue
        phases[status - 1].grow()  # NEED_READ, NEED_COMPUTE or NEED_PUBLISH
    if counters[DONE_EID] < 0:
        raise RuntimeError("the simulated workers stopped before the target (no event left)")
    if chunks is not None:
        chunks.add(out, int(counters[POS]), None)
        return None, chunks.tally, int(counters[PEAK]), _mean_live(state)
    if config.algo == "rennala":  # a last step that never completed: its gradients are dropped
        drop_unfinished(cols, config.batch)
    trace = Trace.from_consistent_columns(
        meta=config.meta() | {"engine": "fast"}, step_size=constant_column(np.nan, n), **cols
    )
    return trace, None, int(counters[PEAK]), _mean_live(state)


class _ChunkTally:
    """The tally of a run without a Trace, one chunk of output rows at a time. For Rennala
    SGD (``batch``) the rows of the step under way are held back until it completes, and a
    step still under way at the end is dropped, as the Trace drops it."""

    FIELDS = ("apply_version", "tau", "attempts", "t_apply")

    def __init__(self, batch: int | None) -> None:
        self.tally, self.batch = Tally(), batch
        self.held: dict[str, Any] | None = None

    def add(self, out: tuple[Any, ...], rows: int, step: int | None) -> None:
        """Rows ``0 .. rows - 1`` of ``out``; ``step``: the step under way (``None``: the end)."""
        index = {name: k for k, name in enumerate(OUT_COLUMNS)}
        cols = {f: out[index[f]][:rows].copy() for f in self.FIELDS}
        if self.batch is not None:
            if self.held is not None:
                cols = {f: np.concatenate([self.held[f], cols[f]]) for f in self.FIELDS}
            if step is None:
                drop_unfinished(cols, self.batch)
                wait = np.zeros(cols["apply_version"].size, dtype=bool)
            else:
                wait = cols["apply_version"] == step
            self.held = {f: v[wait] for f, v in cols.items()}
            cols = {f: v[~wait] for f, v in cols.items()}
        self.tally.add(cols["tau"], cols["attempts"], cols["t_apply"])


def _mean_live(state: dict[str, Any]) -> float:
    counters, clocks = state["counters"], state["clocks"]
    live = 1 + int(counters[HELD_OTHER]) + int(counters[BUILDING]) + int(counters[PRIVATE])
    return time_averaged_live(
        float(clocks[AREA]), float(clocks[LAST]), float(clocks[T_END]), live, int(counters[PEAK])
    )
