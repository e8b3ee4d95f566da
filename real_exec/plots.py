"""Plots of real runs (matplotlib; functions take and return an ``ax``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["plot_curve"]


def plot_curve(ax: Axes, curve: pd.DataFrame) -> Axes:
    """Loss over wall time (log scale), and test accuracy on a twin axis when measured."""
    ax.plot(curve["time"], curve["loss"], marker=".")
    ax.set(xlabel="wall time (s)", ylabel="loss", yscale="log", title="loss")
    if "accuracy" in curve:
        twin = ax.twinx()
        twin.plot(curve["time"], curve["accuracy"], color="tab:orange", marker=".")
        twin.set_ylabel("test accuracy")
    return ax
