"""Plots of real runs (matplotlib; functions take and return an ``ax``)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["plot_band", "plot_curve", "plot_scaling"]


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


def plot_scaling(
    ax: Axes,
    predicted: pd.DataFrame,
    measured: pd.DataFrame | None = None,
    title: str = "time to target",
) -> Axes:
    """Median time to target against workers, one colour per algorithm: predictions on the
    other machine as lines (a triangle at the budget where the target was not reached),
    predictions here as open squares, measurements here as filled circles with their
    interquartile range. Columns: ``algo``, ``machine``, ``workers``,
    ``median_time_to_target``, ``q25``, ``q75``, ``budget``; ``measured`` without ``budget``."""
    colours, censored = {}, False
    for algo, rows in predicted.groupby("algo", sort=False):
        there = rows[rows["machine"] != "here"].sort_values("workers")
        reached = there[np.isfinite(there["median_time_to_target"])]
        (line,) = ax.plot(
            reached["workers"], reached["median_time_to_target"], marker="o", label=f"{algo}, predicted"
        )
        colours[algo] = line.get_color()
        missed = there[~np.isfinite(there["median_time_to_target"])]
        ax.plot(missed["workers"], missed["budget"], "^", color=line.get_color(), markerfacecolor="none")
        censored = censored or len(missed) > 0
        local = rows[rows["machine"] == "here"]
        ax.plot(
            local["workers"],
            local["median_time_to_target"],
            "s",
            color=line.get_color(),
            markerfacecolor="none",
        )
    if censored:
        ax.plot(
            [],
            [],
            "^",
            color="0.4",
            markerfacecolor="none",
            label="not reached by the budget (a lower bound)",
        )
    for algo, rows in measured.groupby("algo", sort=False) if measured is not None else ():
        mid = rows["median_time_to_target"]
        err = np.vstack([mid - rows["q25"], rows["q75"] - mid]).clip(min=0)
        colour = colours.get(algo, "0.3")
        ax.errorbar(rows["workers"], mid, yerr=err, fmt="o", color=colour, label=f"{algo}, measured here")
    ax.set(xscale="log", yscale="log", xlabel="workers", ylabel="median time to target (s)", title=title)
    ticks = sorted(set(predicted["workers"]) | set(measured["workers"] if measured is not None else ()))
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    return ax
