"""How real workers' timings depend on each other, measured on a Trace for the profile's
fields that model it (:mod:`staleness_sim.profile`): HOGWILD!'s ``convoy`` and
``convoy_reversed`` (publishes that meet end together, in either order), its
``paired_window`` and ``paired_ratio`` (gradients begun together), and Leashed-SGD's
``stall`` and ``stall_window`` (a gradient begun near another worker's publish takes
longer). :mod:`real_exec.study.calibrate` decides where they apply."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "CONVOY_PAIRS",
    "PAIRED_WINDOW",
    "STALL_WINDOWS",
    "STALL_Z",
    "Convoy",
    "convoy",
    "meeting_publishes",
    "paired_gradients",
    "stall",
]


#: Publishes that must begin under another worker's before HOGWILD!'s convoy is measured,
#: and gradients that must begin together before their pairing is.
CONVOY_PAIRS = 50

#: How soon after another worker's gradient one must begin to be paired with it, in median
#: gradients (the profile's ``paired_window``).
PAIRED_WINDOW = 0.1


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


@dataclass(frozen=True)
class Convoy:
    """HOGWILD!'s publishes that met, as :func:`convoy` measures them."""

    lag: float  # the profile's ``convoy`` (0: too few met)
    reversed: float  # the share that ended before the one they met (``convoy_reversed``)
    spread: float  # median |end - e0| over the median publish: ~0 in a convoy, ~0.5 apart
    alone: np.ndarray  # per row: whether its publish began with no other worker's under way


def convoy(table: pd.DataFrame) -> Convoy:
    """HOGWILD!'s convoy (the profile's ``convoy`` and ``convoy_reversed``,
    :mod:`staleness_sim.profile`).

    The publishes in the order they began (:func:`meeting_publishes`); for one begun
    while another worker's was under way (the one ending last, begun at ``s0``, ending at
    ``e0``), its end's lag behind ``e0`` over the share of that publish already done,
    ``(end - e0) / ((s - s0) / (e0 - s0))``, among those begun past a tenth of it (sooner,
    the ratio divides by almost nothing): the lag is its median over those that ended after
    ``e0``; ``reversed`` the share of them all that ended before ``e0`` by no more than
    those lags do (their 95th percentile; one that ended much earlier was not in a convoy:
    the other was held up, e.g. preempted); and ``spread`` the median ``|end - e0|`` over
    the median publish: two writes of one vector that meet end within a few cache lines of
    each other, in either order (a spread of a few percent), independent ones about half a
    publish apart. Lag 0 with fewer than :data:`CONVOY_PAIRS` ending after ``e0``."""
    order, inside, met = meeting_publishes(table)
    s, e = table["t_grad_done"].to_numpy(float)[order], table["t_apply"].to_numpy(float)[order]
    prev = met[1:]
    share = np.zeros(e.size)
    span = e[prev] - s[prev]
    share[1:] = np.where(span > 0, (s[1:] - s[prev]) / np.where(span > 0, span, 1.0), 0.0)
    lag = np.zeros(e.size)
    lag[1:] = e[1:] - e[prev]
    used = inside & (share > 0.1)
    behind = used & (lag >= 0)
    alone = np.empty(e.size, dtype=bool)
    alone[order] = ~inside
    if int(behind.sum()) < CONVOY_PAIRS:
        return Convoy(0.0, 0.0, float("nan"), alone)
    ratio = np.abs(lag) / np.where(share > 0, share, 1.0)
    reach = float(np.quantile(ratio[behind], 0.95)) * (1 + 1e-9)  # (a mirrored lag, to rounding)
    return Convoy(
        lag=float(np.median(ratio[behind])),
        reversed=float(np.mean((lag < 0)[used] & (ratio[used] <= reach))),
        spread=float(np.median(np.abs(lag[used])) / np.median(e - s)),
        alone=alone,
    )


def paired_gradients(table: pd.DataFrame, compute: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """HOGWILD!'s gradients begun together (the profile's ``paired_window`` and
    ``paired_ratio``): the window, the paired gradients' ratios, and per row whether its
    gradient was paired.

    In the order the gradients began (``t_read``), one begun within the window
    (:data:`PAIRED_WINDOW` times the median gradient) after another worker's that was not
    itself paired is paired with it, as the simulator pairs them
    (:class:`staleness_sim.mechanisms.hogwild.Starts`); its ratio is ``compute`` (the
    gradients' samples at a nominal speed, per row) of it over that of the other."""
    r = table["t_read"].to_numpy(float)
    g = table["t_grad_done"].to_numpy(float) - r
    w = table["worker"].to_numpy()
    window = PAIRED_WINDOW * float(np.median(g))
    second = np.zeros(r.size, dtype=bool)
    ratios = []
    first = -1
    for j in np.argsort(r, kind="stable"):
        if first >= 0 and w[j] != w[first] and r[j] - r[first] < window and compute[first] > 0:
            second[j] = True
            ratios.append(compute[j] / compute[first])
        else:
            first = j
    return window, np.asarray(ratios, dtype=float), second


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
