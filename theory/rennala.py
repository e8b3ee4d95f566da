"""Rennala SGD's bookkeeping, shared by the simulator and the real runs.

Rennala SGD (Tyurin & Richtarik, NeurIPS 2023): every worker computes at the current point
``x_k``; the first ``S`` gradients computed at ``x_k`` (a fast worker may give several) are
averaged into the step to ``x_{k+1}``; a gradient computed at an older point is thrown
away, and its worker starts again at the current point. In a Trace, a gradient that joins
the batch of step ``k + 1`` has ``apply_version = k + 1`` (``tau = 0``) and ``t_apply`` the
moment it joined; a thrown-away one is dropped with ``attempts = 0`` (it tried nothing), and
so are the gradients of a last step the run stopped before (:func:`drop_unfinished`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["check_step_batch", "drop_unfinished", "step_batch", "unfinished_rows"]


def check_step_batch(batch: int | None) -> int | None:
    """``batch`` if it is ``None`` (the default, see :func:`step_batch`) or an integer >= 1."""
    if batch is None:
        return None
    if isinstance(batch, bool) or not isinstance(batch, int | np.integer) or batch < 1:
        raise ValueError(f"Rennala's step batch S must be an integer >= 1, got {batch!r}")
    return int(batch)


def step_batch(batch: int | None, workers: int) -> int:
    """The ``S`` in use: ``batch``, or by default the workers (one gradient per worker on
    average per step; the time bounds of :mod:`theory.time_bounds` suggest another for a
    given problem).

    >>> step_batch(None, 4), step_batch(16, 4)
    (4, 16)
    """
    checked = check_step_batch(batch)
    return workers if checked is None else checked


def unfinished_rows(apply_version: npt.NDArray[np.int64], batch: int) -> npt.NDArray[np.int64]:
    """The rows (in record order) of a last step that never completed: fewer than ``batch``
    gradients joined it before the run stopped. Steps are consecutive and a step's rows come
    after the previous step's, so only the last can be incomplete and only the end of the
    rows is read.

    >>> unfinished_rows(np.array([1, 1, -1, 2]), 2).tolist()
    [3]
    """
    versions = np.asarray(apply_version)
    window = 4 * batch + 64
    while True:
        tail = versions[-window:]
        kept = tail[tail >= 0]
        last = int(kept.max()) if kept.size else -1
        older = kept.size and (kept < last).any()
        if older or window >= versions.size:
            break
        window *= 4
    if last < 0:
        return np.empty(0, dtype=np.int64)
    rows = np.flatnonzero(tail == last) + (versions.size - tail.size)
    return rows if rows.size < batch else np.empty(0, dtype=np.int64)


def drop_unfinished(columns: dict[str, npt.NDArray[Any]], batch: int) -> None:
    """Mark the rows of :func:`unfinished_rows` dropped, in place: ``apply_version`` -1,
    ``attempts`` 0 (their step never came), and ``tau`` -1, ``dropped`` True where the columns
    have them. The one place the simulator's engines and the real runs do this.

    >>> cols = {"apply_version": np.array([1, 1, -1, 2]), "attempts": np.array([1, 1, 0, 1])}
    >>> drop_unfinished(cols, 2); cols["apply_version"].tolist(), cols["attempts"].tolist()
    ([1, 1, -1, -1], [1, 1, 0, 0])
    """
    lost = unfinished_rows(columns["apply_version"], batch)
    columns["apply_version"][lost] = -1
    columns["attempts"][lost] = 0
    if "tau" in columns:
        columns["tau"][lost] = -1
    if "dropped" in columns:
        columns["dropped"][lost] = True
