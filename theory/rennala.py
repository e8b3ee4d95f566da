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

import numpy as np
import numpy.typing as npt

__all__ = ["check_step_batch", "drop_unfinished", "step_batch"]


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


def drop_unfinished(apply_version: npt.NDArray[np.int64], batch: int) -> npt.NDArray[np.int64]:
    """``apply_version`` with the gradients of a last step that never completed (fewer
    than ``batch`` of them: the run stopped first) marked dropped (``-1``); steps are
    consecutive, so only the last can be incomplete.

    >>> drop_unfinished(np.array([1, 1, -1, 2]), 2).tolist()
    [1, 1, -1, -1]
    """
    out = np.array(apply_version, dtype=np.int64, copy=True)
    kept = out[out >= 0]
    if kept.size:
        last = int(kept.max())
        if int(np.count_nonzero(out == last)) < batch:
            out[out == last] = -1
    return out
