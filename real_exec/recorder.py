"""Per-thread, preallocated instrumentation buffers that become a Trace.

A worker records one row per gradient: the Trace's recorded columns
(:data:`theory.trace.RECORDED`) but ``worker`` (one recorder per worker), and the thread CPU
time of its gradient (for calibration). :data:`FIELDS` is that row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory.trace import RECORDED, Trace

__all__ = ["FIELDS", "CountingRecorder", "Recorder", "cpu_times", "to_trace"]

#: The fields of a recorded row, in order.
FIELDS: tuple[str, ...] = (*(c for c in RECORDED if c != "worker"), "cpu")

_CHUNK = 1 << 14
_WIDTH = len(FIELDS)
_CPU = FIELDS.index("cpu")
_ORDER = FIELDS.index("t_grad_done")  # rows are merged in the order gradients finished


class Recorder:
    """Rows of one worker, stored in preallocated chunks (no allocation per update)."""

    __slots__ = ("_chunks", "_n", "_rows", "worker")

    def __init__(self, worker: int) -> None:
        self.worker = worker
        self._chunks: list[np.ndarray] = []
        self._rows = 0
        self._n = _CHUNK  # rows used in the current chunk; forces a first allocation

    def add(self, *row: float) -> None:
        """Append one gradient's row: the values of :data:`FIELDS`, in order."""
        if self._n == _CHUNK:
            self._chunks.append(np.empty((_CHUNK, _WIDTH)))
            self._n = 0
        self._chunks[-1][self._n] = row
        self._n += 1
        self._rows += 1

    def __len__(self) -> int:
        return self._rows

    def array(self) -> np.ndarray:
        if not self._chunks:
            return np.empty((0, _WIDTH))
        return np.concatenate(self._chunks)[: self._rows]


class CountingRecorder(Recorder):
    """Counts rows and stores nothing: measures what recording costs."""

    __slots__ = ()

    def add(self, *row: float) -> None:
        self._rows += 1

    def array(self) -> np.ndarray:
        return np.empty((0, _WIDTH))


def cpu_times(recorders: list[Recorder]) -> np.ndarray:
    """CPU seconds of every recorded gradient (thread time, so preemption is excluded)."""
    parts = [r.array()[:, _CPU] for r in recorders]
    return np.concatenate(parts) if parts else np.empty(0)


def to_trace(recorders: list[Recorder], meta: dict[str, Any]) -> Trace:
    """Merge the workers' rows, ordered by the time their gradient finished."""
    parts = [r.array() for r in recorders]
    rows = np.concatenate(parts) if parts else np.empty((0, _WIDTH))
    worker = np.repeat([r.worker for r in recorders], [len(p) for p in parts])
    order = np.argsort(rows[:, _ORDER], kind="stable")
    rows, worker = rows[order], worker[order]
    columns = {name: rows[:, k] for k, name in enumerate(FIELDS) if name != "cpu"}
    return Trace.from_columns(meta=meta, worker=worker, **columns)
