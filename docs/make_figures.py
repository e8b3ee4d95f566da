"""Regenerate the figures of docs/theory.md: ``python docs/make_figures.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from theory.plots import new_figure, plot_rules, save_figure
from theory.spec import RULES, make_rule
from theory.staleness import StalenessModel, geometric_for_workers, poisson_for_workers

OUT = Path(__file__).parent / "figures"


def rules_figure(model: StalenessModel, title: str, path: Path, workers: int) -> None:
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    tau = np.arange(model.support_max(1e-3) + 1)
    scales = {rule: make_rule(rule, model, beta=0.1, workers=workers)(tau) for rule in RULES}
    plot_rules(ax, tau, model.pmf(tau), scales, title=title)
    ax.set_yscale("log")
    save_figure(fig, path)


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    rules_figure(
        poisson_for_workers(8), "s(tau) on Poisson(7) staleness (m = 8)", OUT / "rules_poisson.png", 8
    )
    rules_figure(
        geometric_for_workers(8), "s(tau) on geometric(7/8) staleness (m = 8)", OUT / "rules_geometric.png", 8
    )
