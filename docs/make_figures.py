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
    scales = {rule: make_rule(rule, model, workers=workers)(tau) for rule in RULES}
    plot_rules(ax, tau, model.pmf(tau), scales, title=title)
    ax.set_yscale("log")
    save_figure(fig, path)


def bounds_figure(path: Path, threads: int = 4, seconds: float = 3.0) -> None:
    """Iterations to epsilon against tau_max / tau_avg for each theorem, at the mean staleness
    of a real Leashed-SGD run here; the run's own pmf as points."""
    from real_exec import RunConfig, run
    from real_exec.executor.problems import make_problem
    from theory.bounds import all_bounds
    from theory.staleness import Empirical

    trace = run(
        RunConfig("leashed", threads, 0.05, seconds=seconds, check_updates=False),
        make_problem("digits-mlp", np.random.default_rng(0)),
    ).trace
    tau = trace.staleness()
    avg = float(tau.mean())
    common = dict(lsmooth=1.0, sigma2=1.0, f0=10.0, eps=0.1, workers=threads)
    ratios = np.unique(np.geomspace(1.0, 64.0, 25))
    curves: dict[str, list[float]] = {}
    for r in ratios:
        tau_max = max(1, round(r * avg))
        results, _ = all_bounds("nonconvex", tau_max=tau_max, tau_avg=min(avg, tau_max), **common)
        for b in results:
            curves.setdefault(b.theorem, []).append(b.iterations_to_epsilon or np.nan)
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    for name, its in curves.items():
        ax.plot(ratios[: len(its)], its, label=name)
    pmf = Empirical.from_samples(tau)
    own, _ = all_bounds("nonconvex", pmf=pmf, **common)
    ratio = float(tau.max()) / avg
    for b in own:
        ax.plot([ratio], [b.iterations_to_epsilon], "o", color="0.3")
    ax.plot([], [], "o", color="0.3", label="the run's own pmf (each theorem)")
    ax.set(
        xscale="log", yscale="log", xlabel="tau_max / tau_avg",
        ylabel="iterations to epsilon = 0.1",
        title=f"Non-convex bound, L = 1, sigma2 = 1, F0 = 10; tau_avg = {avg:.2f} "
        f"(Leashed-SGD, {threads} threads)",
    )  # fmt: skip
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)
    save_figure(fig, path)


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    rules_figure(
        poisson_for_workers(8), "s(tau) on Poisson(7) staleness (m = 8)", OUT / "rules_poisson.png", 8
    )
    rules_figure(
        geometric_for_workers(8), "s(tau) on geometric(7/8) staleness (m = 8)", OUT / "rules_geometric.png", 8
    )
    bounds_figure(OUT / "bounds_by_theorem.png")
