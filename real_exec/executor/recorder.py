"""Per-thread, preallocated instrumentation buffers that become a Trace.

A worker records one row per gradient, from compiled code: the Trace's recorded columns
(:data:`theory.trace.RECORDED`) but ``worker`` (one recorder per worker), and the thread CPU
time of its gradient (for calibration). :data:`FIELDS` is that row; :data:`READ_VERSION` ...
:data:`CPU` are its column indices. A recorder's ``stats`` (an int64 array the worker loop
updates) holds the rows in its current buffer (:data:`FILL`), the gradients counted
(:data:`COUNT`) and the most parameter vectors the worker saw live (:data:`PEAK`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory.trace import RECORDED, Trace

__all__ = [
    "APPLY_VERSION",
    "ATTEMPTS",
    "COUNT",
    "CPU",
    "FIELDS",
    "FILL",
    "PEAK",
    "READ_VERSION",
    "STEP",
    "T_APPLY",
    "T_DONE",
    "T_READ",
    "Recorder",
    "cpu_times",
    "to_trace",
]

#: The fields of a recorded row, in order.
FIELDS: tuple[str, ...] = (*(c for c in RECORDED if c != "worker"), "cpu")
READ_VERSION, APPLY_VERSION, T_READ, T_DONE, T_APPLY, ATTEMPTS, STEP, CPU = (
    FIELDS.index(name)
    for name in (
        "read_version",
        "apply_version",
        "t_read",
        "t_grad_done",
        "t_apply",
        "attempts",
        "step_size",
        "cpu",
    )
)
FILL, COUNT, PEAK = range(3)

CHUNK = 1 << 15
_WIDTH = len(FIELDS)


class Recorder:
    """Rows of one worker, in preallocated chunks that the worker loop fills; with
    ``keep=False`` it only counts (measures what recording costs)."""

    def __init__(self, worker: int, keep: bool = True) -> None:
        self.worker = worker
        self.keep = keep
        self.stats = np.zeros(3, dtype=np.int64)
        self._chunks: list[np.ndarray] = []
        self.buffer = np.empty((0, _WIDTH))
        self.make_room()

    def make_room(self) -> None:
        """A new chunk when the current one is full (or there is none)."""
        if self.keep and (not self._chunks or self.stats[FILL] == CHUNK):
            self.buffer = np.empty((CHUNK, _WIDTH))
            self._chunks.append(self.buffer)
            self.stats[FILL] = 0

    def __len__(self) -> int:
        return int(self.stats[COUNT])

    def array(self) -> np.ndarray:
        if not self._chunks:
            return np.empty((0, _WIDTH))
        *full, last = self._chunks
        return np.concatenate([*full, last[: self.stats[FILL]]])


def cpu_times(recorders: list[Recorder]) -> np.ndarray:
    """CPU seconds of every recorded gradient (thread time, so preemption is excluded)."""
    parts = [r.array()[:, CPU] for r in recorders]
    return np.concatenate(parts) if parts else np.empty(0)


def to_trace(recorders: list[Recorder], meta: dict[str, Any]) -> Trace:
    """Merge the workers' rows, ordered by the time their gradient finished."""
    parts = [r.array() for r in recorders]
    rows = np.concatenate(parts) if parts else np.empty((0, _WIDTH))
    worker = np.repeat([r.worker for r in recorders], [len(p) for p in parts])
    order = np.argsort(rows[:, T_DONE], kind="stable")
    rows, worker = rows[order], worker[order]
    columns = {name: rows[:, k] for k, name in enumerate(FIELDS) if name != "cpu"}
    return Trace.from_columns(meta=meta, worker=worker, **columns)
