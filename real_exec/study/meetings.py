"""How real workers' timings depend on each other, measured on a Trace for the profile's
fields that model it (:mod:`staleness_sim.profile`): HOGWILD!'s ``convoy`` (publishes that
meet end together) and Leashed-SGD's ``stall`` and ``stall_window`` (a gradient begun near
another worker's publish takes longer). :mod:`real_exec.study.calibrate` decides where they
apply."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CONVOY_PAIRS", "STALL_WINDOWS", "STALL_Z", "convoy", "meeting_publishes", "stall"]


#: Publishes that must begin under another worker's before HOGWILD!'s convoy is measured.
CONVOY_PAIRS = 50


def meeting_publishes(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The publishes (``t_grad_done`` to ``t_apply``) in the order they began: that order
    (rows of ``table``), whether each began while another worker's publish was under way,
    and the position in that order of the publish under way that ends last (where one began
    under another's: the one it met)."""
    s, e = table["t_grad_done"].to_numpy(float), table["t_apply"].to_numpy(float)
    w = table["worker"].to_numpy()
    order = np.argsort(s, kind="stable")
    s, e, w = s[order], e[order], w[order]
    latest = np.maximum.accumulate(e)  # the end of the publish under way that ends last
    holder = np.maximum.accumulate(np.where(e >= latest, np.arange(e.size), 0))
    met = np.zeros(e.size, dtype=np.int64)
    met[1:] = holder[:-1]
    inside = np.zeros(e.size, dtype=bool)
    inside[1:] = (s[1:] < latest[:-1]) & (w[1:] != w[met[1:]])
    return order, inside, met


def convoy(table: pd.DataFrame) -> tuple[float, np.ndarray]:
    """HOGWILD!'s convoy (the profile's ``convoy``, :mod:`staleness_sim.profile`) and, per row,
    whether its publish began with no other worker's under way.

    The publishes in the order they began (:func:`meeting_publishes`); for one begun
    while another worker's was under way (the one ending last, begun at ``s0``, ending at
    ``e0``), its end's lag behind ``e0`` over the share of that publish already done,
    ``(end - e0) / ((s - s0) / (e0 - s0))``: the median over those begun past a tenth of it
    (sooner, the ratio divides by almost nothing) that ended after it (one that ended first
    was not held: the other was held up, not writing). 0 with fewer than
    :data:`CONVOY_PAIRS`."""
    order, inside, met = meeting_publishes(table)
    s, e = table["t_grad_done"].to_numpy(float)[order], table["t_apply"].to_numpy(float)[order]
    prev = met[1:]
    prev_end = e[prev]
    share = np.zeros(e.size)
    span = e[prev] - s[prev]
    share[1:] = np.where(span > 0, (s[1:] - s[prev]) / np.where(span > 0, span, 1.0), 0.0)
    lag = np.zeros(e.size)
    lag[1:] = e[1:] - prev_end
    used = inside & (share > 0.1) & (lag >= 0)
    alone = np.empty(e.size, dtype=bool)
    alone[order] = ~inside
    if int(used.sum()) < CONVOY_PAIRS:
        return 0.0, alone
    return max(0.0, float(np.median(lag[used] / share[used]))), alone


#: The windows tried for Leashed-SGD's stall, in median publish attempts.
STALL_WINDOWS = tuple(0.25 * k for k in range(1, 13))
#: How many standard errors the stall must stand above none, at the best window: in 24
#: simulated runs without a stall (three publish distributions, second worker's speed 1, 2
#: or 3, 20,000 gradients), the best of the 12 windows stood at most 2.0 above it.
STALL_Z = 6.0


def stall(
    table: pd.DataFrame, publish: float, gradient: np.ndarray | None = None
) -> tuple[float, float, np.ndarray] | None:
    """Leashed-SGD's stall (the profile's ``stall`` and ``stall_window``,
    :mod:`staleness_sim.profile`) and, per row, whether the gradient stalled; None where the
    run shows none.

    A gradient (``t_read`` to ``t_grad_done``) is taken as stalled when another worker's
    publish (``t_grad_done`` to ``t_apply``) is under way at its read or begins within the
    window after it. For each window of :data:`STALL_WINDOWS` (times ``publish``, the median
    publish attempt), the stall is the difference of the two groups' mean gradient times
    within each worker (:func:`_stall_difference`): a window too short leaves stalled gradients among the
    others, one too long puts unstalled ones among the stalled, and both shrink the
    difference, so the window with the largest difference is taken. None when that
    difference is below :data:`STALL_Z` standard errors, or below 2% of the median gradient."""
    t = table.reset_index(drop=True).sort_values("t_read", kind="stable")
    order = t.index.to_numpy()  # the rows' positions in ``table``
    read, done = t["t_read"].to_numpy(float), t["t_grad_done"].to_numpy(float)
    worker, apply = t["worker"].to_numpy(), t["t_apply"].to_numpy(float)
    g = done - read if gradient is None else np.asarray(gradient, dtype=float)[order]
    # per worker: its reads, and the other workers' publishes in the order they began, with
    # the latest end among those begun so far (the same for every window)
    others = []
    for w in np.unique(worker):
        mine, other = worker == w, worker != w
        by_begin = np.argsort(done[other], kind="stable")
        others.append(
            (mine, read[mine], done[other][by_begin], np.maximum.accumulate(apply[other][by_begin]))
        )
    best: tuple[float, float, float, np.ndarray] | None = None
    for k in STALL_WINDOWS:
        window = k * publish
        stalled = np.zeros(g.size, dtype=bool)
        for mine, r, begin, latest_end in others:
            # a publish under way at the read or begun within the window: the last one begun
            # before r + window, or one before it, still under way at r
            j = np.searchsorted(begin, r + window) - 1
            hit = np.zeros(r.size, dtype=bool)
            ok = j >= 0
            hit[ok] = latest_end[j[ok]] > r[ok]
            stalled[mine] = hit
        found = _stall_difference(g, stalled, worker)
        if found is not None and (best is None or found[0] > best[0]):
            best = (found[0], window, found[0] / found[1], stalled)
    if best is None:
        return None
    diff, window, z, stalled = best
    if z < STALL_Z or diff < 0.02 * float(np.median(g)):
        return None
    per_row = np.empty(g.size, dtype=bool)
    per_row[order] = stalled
    return diff, window, per_row


def _stall_difference(g: np.ndarray, stalled: np.ndarray, worker: np.ndarray) -> tuple[float, float] | None:
    """The stalled gradients' mean time less the others', each group without its slowest 5%,
    within each worker (so that workers of different speeds do not pass for a stall), the
    workers' differences weighted by their inverse variances; with its standard error. None
    when no worker has 20 gradients in each group."""
    weights, diffs = [], []
    for w in np.unique(worker):
        a, b = g[stalled & (worker == w)], g[~stalled & (worker == w)]
        if a.size < 20 or b.size < 20:
            continue
        a, b = a[a <= np.quantile(a, 0.95)], b[b <= np.quantile(b, 0.95)]
        var = a.var() / a.size + b.var() / b.size
        if var > 0:
            weights.append(1.0 / var)
            diffs.append(a.mean() - b.mean())
    if not weights:
        return None
    total = float(np.sum(weights))
    return float(np.dot(weights, diffs) / total), float(np.sqrt(1.0 / total))
