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
from staleness_sim.timing import PhaseDraws
from theory.analysis import Tally
from theory.rennala import unfinished_rows
from theory.trace import Trace, empty_columns

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

    def __init__(self, draws: PhaseDraws, rows: int) -> None:
        self.draws = draws
        self.rows = 1 if draws.constant is not None else max(1, rows)  # a constant: one, read again
        self.array = self._take()

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
    phases = [_Phase(d.read, rows), _Phase(d.compute, rows), _Phase(d.publish, rows)]
    constant = np.array([p.draws.constant is not None for p in phases])
    state = new_state(m, n, holders=config.algo == "leashed")
    cols = empty_columns(n if keep_trace else min(n, CHUNK), OUT_COLUMNS)
    out = tuple(cols.values())
    tally: Tally | None = None if keep_trace else Tally()  # with a Trace, the result tallies it when asked
    # Rennala without a Trace: the rows of the step under way, held back until it completes
    empty = np.empty(0, dtype=np.int64)
    held: Any = (empty, empty, empty, np.empty(0), config.batch) if config.algo == "rennala" else None
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
            *out,
        )
        if status == DONE:
            break
        if status == FULL:
            if keep_trace:
                limit = min(n, limit + step)
            else:
                assert tally is not None
                held = _tally_rows(tally, out, int(counters[POS]), held, int(counters[VERSION]) + 1)
                counters[POS] = 0
            if progress is not None:
                progress(int(counters[RECORDS]))
            continue
        phases[status - 1].grow()  # NEED_READ, NEED_COMPUTE or NEED_PUBLISH
    if counters[DONE_EID] < 0:
        raise RuntimeError("the simulated workers stopped before the target (no event left)")
    if tally is not None:
        _tally_rows(tally, out, int(counters[POS]), held, None)
    trace = None
    if keep_trace:
        if config.algo == "rennala":  # a last step that never completed: its gradients are dropped
            lost = unfinished_rows(cols["apply_version"], config.batch)
            cols["apply_version"][lost], cols["tau"][lost], cols["dropped"][lost] = -1, -1, True
            cols["attempts"][lost] = 0
        trace = Trace.from_consistent_columns(
            meta=config.meta() | {"engine": "fast"}, step_size=np.full(n, np.nan), **cols
        )
    peak = int(counters[PEAK])
    return trace, tally, peak, _mean_live(state)


def _tally_rows(
    tally: Tally, out: tuple[Any, ...], rows: int, held: Any = None, step: int | None = None
) -> Any:
    """Add ``rows`` output rows to ``tally``. For Rennala SGD (``step``: the step under way,
    or ``None`` at the end of the run), the rows of the step under way are held back
    (returned, with those ``held`` before) until it completes; at the end a step still under
    way is tallied as dropped, as the Trace drops it (:func:`theory.rennala.unfinished_rows`)."""
    index = {name: k for k, name in enumerate(OUT_COLUMNS)}
    tau, attempts = out[index["tau"]][:rows].copy(), out[index["attempts"]][:rows].copy()
    t_apply = out[index["t_apply"]][:rows].copy()
    if held is None:
        tally.add(tau, attempts, t_apply)
        return None
    version = np.concatenate([held[0], out[index["apply_version"]][:rows]])
    pieces = zip(held[1:4], (tau, attempts, t_apply), strict=True)
    tau, attempts, t_apply = (np.concatenate([h, c]) for h, c in pieces)
    wait = version == step if step is not None else np.zeros(version.size, dtype=bool)
    if step is None and version.size:
        lost = unfinished_rows(version, held[4])
        tau[lost], attempts[lost], version[lost] = -1, 0, -1
    go = ~wait
    tally.add(tau[go], attempts[go], t_apply[go])
    return (version[wait], tau[wait], attempts[wait], t_apply[wait], held[4])


def _mean_live(state: dict[str, Any]) -> float:
    counters, clocks = state["counters"], state["clocks"]
    live = 1 + int(counters[HELD_OTHER]) + int(counters[BUILDING]) + int(counters[PRIVATE])
    return time_averaged_live(
        float(clocks[AREA]), float(clocks[LAST]), float(clocks[T_END]), live, int(counters[PEAK])
    )
