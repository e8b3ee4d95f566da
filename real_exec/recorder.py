"""Per-thread, preallocated instrumentation buffers that become a Trace."""

from __future__ import annotations

from typing import Any

import numpy as np

from theory.trace import Trace

__all__ = ["CountingRecorder", "Recorder", "cpu_times", "to_trace"]

_CHUNK = 1 << 14


class Recorder:
    """Rows of one worker, stored in preallocated chunks (no allocation per update)."""

    __slots__ = ("_chunks", "_n", "_rows", "worker")

    def __init__(self, worker: int) -> None:
        self.worker = worker
        self._chunks: list[np.ndarray] = []
        self._rows = 0
        self._n = _CHUNK  # rows used in the current chunk; forces a first allocation

    def add(
        self,
        read_version: int,
        apply_version: int,
        t_read: float,
        t_grad_done: float,
        t_apply: float,
        attempts: int,
        step_size: float,
        cpu: float = float("nan"),
    ) -> None:
        """Append one gradient's row; ``cpu`` is the thread CPU time of its gradient."""
        if self._n == _CHUNK:
            self._chunks.append(np.empty((_CHUNK, 8)))
            self._n = 0
        row = self._chunks[-1][self._n]
        row[0] = read_version
        row[1] = apply_version
        row[2] = t_read
        row[3] = t_grad_done
        row[4] = t_apply
        row[5] = attempts
        row[6] = step_size
        row[7] = cpu
        self._n += 1
        self._rows += 1

    def __len__(self) -> int:
        return self._rows

    def array(self) -> np.ndarray:
        if not self._chunks:
            return np.empty((0, 8))
        return np.concatenate(self._chunks)[: self._rows]


class CountingRecorder(Recorder):
    """Counts rows and stores nothing: measures what recording costs."""

    __slots__ = ()

    def add(
        self,
        read_version: int,
        apply_version: int,
        t_read: float,
        t_grad_done: float,
        t_apply: float,
        attempts: int,
        step_size: float,
        cpu: float = float("nan"),
    ) -> None:
        self._rows += 1

    def array(self) -> np.ndarray:
        return np.empty((0, 8))


def cpu_times(recorders: list[Recorder]) -> np.ndarray:
    """CPU seconds of every recorded gradient (thread time, so preemption is excluded)."""
    parts = [r.array()[:, 7] for r in recorders]
    return np.concatenate(parts) if parts else np.empty(0)


def to_trace(recorders: list[Recorder], meta: dict[str, Any]) -> Trace:
    """Merge the workers' rows, ordered by the time their gradient finished."""
    parts = [r.array() for r in recorders]
    rows = np.concatenate(parts) if parts else np.empty((0, 8))
    worker = (
        np.concatenate([np.full(len(p), r.worker) for r, p in zip(recorders, parts, strict=True)])
        if parts
        else np.empty(0)
    )
    order = np.argsort(rows[:, 3], kind="stable")
    rows, worker = rows[order], worker[order]
    apply_version = rows[:, 1].astype(np.int64)
    return Trace.from_columns(
        meta=meta,
        worker=worker.astype(np.int64),
        read_version=rows[:, 0].astype(np.int64),
        apply_version=apply_version,
        t_read=rows[:, 2],
        t_grad_done=rows[:, 3],
        t_apply=rows[:, 4],
        attempts=rows[:, 5].astype(np.int64),
        step_size=rows[:, 6],
    )
