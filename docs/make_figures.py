"""Regenerate the figures of docs/theory.md: ``python docs/make_figures.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from theory.plots import new_figure, plot_pmf, plot_scale
from theory.spec import RULES, make_rule
from theory.staleness import StalenessModel, geometric_for_workers, poisson_for_workers

OUT = Path(__file__).parent / "figures"


def rules_figure(model: StalenessModel, title: str, path: Path, workers: int) -> None:
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    tau = np.arange(model.support_max(1e-3) + 1)
    twin = ax.twinx()
    plot_pmf(twin, tau, model.pmf(tau))
    for rule in RULES:
        plot_scale(ax, tau, make_rule(rule, model, beta=0.1, workers=workers)(tau), label=rule)
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    rules_figure(
        poisson_for_workers(8), "s(tau) on Poisson(7) staleness (m = 8)", OUT / "rules_poisson.png", 8
    )
    rules_figure(
        geometric_for_workers(8), "s(tau) on geometric(7/8) staleness (m = 8)", OUT / "rules_geometric.png", 8
    )
