"""Plots of staleness pmfs, a Trace's staleness and step-size functions (matplotlib;
functions take an ``ax``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from theory.trace import Trace

__all__ = [
    "new_figure",
    "plot_pmf",
    "plot_rules",
    "plot_scale",
    "plot_staleness",
    "plot_time_to_epsilon",
    "save_figure",
]


def plot_scale(ax: Axes, tau: npt.ArrayLike, scale: npt.ArrayLike, label: str, **kwargs: Any) -> Axes:
    """Draw ``s(tau)`` as steps with markers; return ``ax``."""
    ax.plot(np.asarray(tau), np.asarray(scale), marker="o", markersize=3, label=label, **kwargs)
    ax.set_xlabel("staleness tau")
    ax.set_ylabel("step scale s(tau) = eta / eta0")
    ax.axhline(1.0, color="0.6", linewidth=0.8, linestyle=":")
    return ax


def plot_pmf(ax: Axes, tau: npt.ArrayLike, pmf: npt.ArrayLike, label: str = "P(tau)") -> Axes:
    """Draw a staleness pmf as bars; return ``ax``."""
    ax.bar(np.asarray(tau), np.asarray(pmf), color="0.85", edgecolor="0.6", label=label)
    ax.set_xlabel("staleness tau")
    ax.set_ylabel("probability")
    return ax


def plot_staleness(ax: Axes, trace: Trace, label: str | None = None) -> Axes:
    """Bar plot of the staleness pmf of ``trace``'s applied updates (simulated or real)."""
    tau = trace.staleness()
    counts = np.bincount(tau) if tau.size else np.zeros(1)
    plot_pmf(ax, np.arange(counts.size), counts / max(1, tau.size), label=label or "staleness")
    meta = trace.meta
    ax.set_title(f"{meta.get('algorithm', '?')}, {meta.get('workers', '?')} workers: staleness pmf")
    return ax


def plot_rules(
    ax: Axes,
    tau: npt.ArrayLike,
    probs: npt.ArrayLike,
    scales: Mapping[str, npt.ArrayLike],
    pmf_label: str = "P(tau)",
    title: str | None = None,
) -> Axes:
    """Step-size rules ``s(tau)`` (one line per entry of ``scales``) over the staleness pmf
    (bars on a twin axis, drawn behind); return ``ax``."""
    twin = ax.twinx()
    plot_pmf(twin, tau, probs, label=pmf_label)
    for label, scale in scales.items():
        plot_scale(ax, tau, scale, label=label)
    ax.set_zorder(twin.get_zorder() + 1)  # the lines in front of the bars
    ax.patch.set_visible(False)
    ax.legend(fontsize=8, loc="upper right")
    if title is not None:
        ax.set_title(title)
    return ax


#: How each kind of time to epsilon is drawn: the bound as a line, the others as markers.
TIME_KINDS = {"bound": "-", "simulated": "o", "real": "s"}


def plot_time_to_epsilon(
    ax: Axes, curves: dict[str, dict[int, dict[str, float]]], xlabel: str = "workers n"
) -> Axes:
    """Time to epsilon against the workers, per method (one colour each): ``curves[method][n]``
    maps a kind of :data:`TIME_KINDS` (``bound``, ``simulated``, ``real``) to seconds;
    a kind missing from every point is not drawn, a NaN leaves a gap. Log axes, the
    worker counts as ticks."""
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    for k, (method, points) in enumerate(curves.items()):
        n = sorted(points)
        for kind, style in TIME_KINDS.items():
            y = [points[v].get(kind, np.nan) for v in n]
            if not np.isfinite(y).any():
                continue
            filled = kind != "simulated"
            ax.plot(n, y, style, color=f"C{k}", mfc=f"C{k}" if filled else "none", label=f"{method}: {kind}")
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="time to epsilon (s)")
    ticks = sorted({v for p in curves.values() for v in p})
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FixedFormatter([str(v) for v in ticks]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.legend(fontsize=7, ncol=2)
    return ax


def new_figure(width: float = 6.4, height: float = 4.0) -> Figure:
    """A figure on the non-interactive Agg canvas (no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` as a PNG to ``path`` atomically; return the path."""
    from theory.trace import atomic_write

    target = Path(path)
    atomic_write(target, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi))
    return target
