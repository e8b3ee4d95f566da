"""What a synchronous run's rounds show: each round's last arrival, and how long after the
round's release each worker read again.

In a real synchronous run (:mod:`real_exec.executor.algorithms.sync`) the last thread to
reach the barrier applies the round's update and releases the others; each of the others
notices the release when its waiting loop next runs, which is at once while it has its
core, and up to a time slice later while another thread (the main thread evaluating the
loss curve, another program) holds that core. A waiter records its publish as ending when
it noticed, so its wake-up lies between the release (the last arrival's ``t_apply``) and its
own ``t_apply``. The simulator releases every waiter at the round's end
(:mod:`staleness_sim.mechanisms.sync`), then each worker spends its read phase before its
gradient: the read phase that carries the wake-ups is the time from the release to the next
read, :func:`after_release`.

A round's duration is the latest of its workers' (read + gradient) plus the update, so it
is the number of workers meeting a late wake-up that counts: per round, the ``n - 1``
waiters each late with probability ``p`` in the real run; drawn for all ``n`` workers from
the pooled samples, in which a share ``(n - 1) p / n`` is late, about as many
(``n (n - 1) p / n``) for small ``p``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["after_release", "last_arrivals"]


def last_arrivals(table: Any) -> np.ndarray:
    """Per row of a synchronous run: whether its gradient was the last of its round (the
    latest ``t_grad_done`` among the rows with its ``apply_version``)."""
    latest = table.groupby("apply_version")["t_grad_done"].transform("max").to_numpy()
    return table["t_grad_done"].to_numpy() >= latest


def after_release(table: Any) -> np.ndarray:
    """Seconds from each round's release (its last arrival's ``t_apply``) to each of its
    workers' next read, for every row followed by a read of its worker (clipped at 0: a
    waiter may read its clock before the last arrival reads its own)."""
    t_apply = table["t_apply"].to_numpy()
    release = (
        table.assign(_release=np.where(last_arrivals(table), t_apply, -np.inf))
        .groupby("apply_version")["_release"]
        .transform("max")
        .to_numpy()
    )
    t_read = table["t_read"].to_numpy()
    out = []
    for rows in table.groupby("worker").indices.values():
        own = rows[np.argsort(t_read[rows], kind="stable")]
        out.append(np.clip(t_read[own[1:]] - release[own[:-1]], 0.0, None))
    return np.concatenate(out) if out else np.zeros(0)
