"""Plots of simulated runs (matplotlib; functions take and return an ``ax``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from theory.plots import plot_pmf

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from theory.trace import Trace

__all__ = ["plot_staleness"]


def plot_staleness(ax: Axes, trace: Trace, label: str | None = None) -> Axes:
    """Bar plot of the staleness pmf of ``trace``'s applied updates."""
    tau = trace.staleness()
    counts = np.bincount(tau) if tau.size else np.zeros(1)
    plot_pmf(ax, np.arange(counts.size), counts / max(1, tau.size), label=label or "staleness")
    meta = trace.meta
    ax.set_title(f"{meta.get('algorithm', '?')}, {meta.get('workers', '?')} workers: staleness pmf")
    return ax
