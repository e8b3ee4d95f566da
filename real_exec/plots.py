"""Plots of real runs (matplotlib; functions take and return an ``ax``)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["plot_band", "plot_curve"]


def plot_curve(ax: Axes, curve: pd.DataFrame) -> Axes:
    """Loss over wall time (log scale), and test accuracy on a twin axis when measured."""
    ax.plot(curve["time"], curve["loss"], marker=".")
    ax.set(xlabel="wall time (s)", ylabel="loss", yscale="log", title="loss")
    if "accuracy" in curve:
        twin = ax.twinx()
        twin.plot(curve["time"], curve["accuracy"], color="tab:orange", marker=".")
        twin.set_ylabel("test accuracy")
    return ax


def plot_band(
    ax: Axes, curves: Sequence[dict[str, Any]], column: str, label: str, until: float, points: int = 60
) -> Axes:
    """The median of several runs' ``column`` over time (``curve["time"]``), with the
    interquartile band; a run counts until its last point."""
    grid = np.linspace(0.0, until, points)
    rows = [np.interp(grid, c["time"], c[column], right=np.nan) for c in curves if column in c]
    if not rows:
        return ax
    stack = np.vstack(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # times after every run had stopped
        med = np.nanmedian(stack, axis=0)
        low, high = np.nanquantile(stack, 0.25, axis=0), np.nanquantile(stack, 0.75, axis=0)
    (line,) = ax.plot(grid, med, label=label)
    ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2)
    return ax
