"""A hand-made Trace of two workers whose publishes come in pairs (a convoy)."""

from __future__ import annotations

import numpy as np

from theory.trace import Trace


def paired_publishes(n: int = 50, attempts: int = 1, algo: str | None = None) -> Trace:
    """Worker 0 reads at ``k + 0.1`` and publishes at ``k + 1``; worker 1 reads at
    ``k + 0.12`` and publishes at ``k + 1.02``, inside worker 0's gap ``(k + 1, k + 1.1)``:
    worker 0 never sees it (tau 0), worker 1 always sees worker 0's publish (tau 1). Each
    gradient takes ``attempts`` CAS attempts."""
    k = np.arange(n)
    return Trace.from_columns(
        meta={"algorithm": algo, "workers": 2} if algo else None,
        worker=np.tile([0, 1], n),
        read_version=np.repeat(2 * k, 2),
        apply_version=np.column_stack([2 * k + 1, 2 * k + 2]).ravel(),
        t_read=np.column_stack([k + 0.1, k + 0.12]).ravel(),
        t_grad_done=np.column_stack([k + 0.5, k + 0.52]).ravel(),
        t_apply=np.column_stack([k + 1.0, k + 1.02]).ravel(),
        attempts=np.full(2 * n, attempts),
        step_size=np.full(2 * n, 0.1),
    )
