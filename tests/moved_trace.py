"""A hand-made Trace of four workers on two cores, some windows with one of them alone on a core."""

from __future__ import annotations

import numpy as np

from theory.trace import Trace


def moved_threads(windows: int = 20, alone: int = 0, rate: int = 30, algo: str | None = None) -> Trace:
    """Four workers, each ``rate`` gradients per 1-second window evenly (two per core), except
    that in the first ``alone`` windows worker 0 has a core to itself (twice its rate) and the
    other three share the other core (two thirds of theirs). HOGWILD!-like versions: the rows
    in order of their ends, each reading the version before the previous row's."""
    worker, done = [], []
    for w in range(windows):
        counts = [2 * rate] + [2 * rate // 3] * 3 if w < alone else [rate] * 4
        for i, c in enumerate(counts):
            worker += [i] * c
            done += list(w + (np.arange(c) + 0.5) / c)
    order = np.argsort(done, kind="stable")
    done_t, workers = np.asarray(done)[order], np.asarray(worker)[order]
    n = done_t.size
    version = np.arange(1, n + 1)
    return Trace.from_columns(
        meta={"algorithm": algo, "workers": 4} if algo else None,
        worker=workers,
        read_version=np.maximum(version - 2, 0),
        apply_version=version,
        t_read=np.maximum(done_t - 0.01, 0.0),
        t_grad_done=done_t,
        t_apply=done_t,
        attempts=np.ones(n, dtype=int),
        step_size=np.full(n, 0.1),
    )
