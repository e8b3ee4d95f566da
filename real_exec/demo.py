"""``asgd demo``: the toolkit on its built-in default, written up as a small report.

Today the demo covers the ``theory`` package: staleness models for 2..32 workers, every
step-size rule on the staleness of 8 workers, the iterations each rule needs according to
the non-convex bound, and the PL bound against delayed SGD on a quadratic.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np
import pandas as pd

from theory.bounds import BOUNDS, evaluate_bound
from theory.delayed_sgd import run_delayed_sgd
from theory.delays import delay_moments
from theory.plots import new_figure, plot_pmf, plot_scale
from theory.problems import random_quadratic
from theory.properties import check_properties
from theory.spec import RULES, make_rule
from theory.staleness import (
    Empirical,
    StalenessModel,
    geometric_for_workers,
    poisson_for_workers,
    truncated_pmf,
)
from theory.trace import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["run_demo"]

WORKERS = (2, 4, 8, 16, 32)
PROBLEM = {"L": 1.0, "sigma2": 1.0, "f0": 10.0, "epsilon": 0.1}


class _Report:
    """Collects sections of Markdown and writes figures, tables and the index files."""

    def __init__(self, out: Path) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.sections: list[str] = []

    def text(self, markdown: str) -> None:
        self.sections.append(markdown)

    def figure(self, name: str, fig: Figure, caption: str) -> None:
        path = self.out / f"{name}.png"
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
        self.sections.append(f"![{caption}]({path.name})\n\n*{caption}*")

    def table(self, name: str, frame: pd.DataFrame, caption: str) -> None:
        atomic_write(self.out / f"{name}.csv", lambda tmp: frame.to_csv(tmp, index=False))
        md = frame.to_markdown(index=False, floatfmt=".4g") if _has_tabulate() else frame.to_string()
        self.sections.append(f"**{caption}** ([{name}.csv]({name}.csv))\n\n{md}")

    def write(self) -> Path:
        markdown = "\n\n".join(self.sections) + "\n"
        atomic_write(self.out / "index.md", lambda tmp: _write(tmp, markdown))
        body = "\n".join(_section_html(s) for s in self.sections)
        head = "<meta charset='utf-8'><title>asgd demo</title>"
        page = f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"
        index = self.out / "index.html"
        atomic_write(index, lambda tmp: _write(tmp, page))
        return index


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def _section_html(markdown: str) -> str:
    if markdown.startswith("!["):
        caption, src = markdown[2:].split("](", 1)
        src = src.split(")", 1)[0]
        cap = html.escape(caption)
        img = f"<img src='{html.escape(src)}' alt='{cap}'>"
        return f"<figure>{img}<figcaption>{cap}</figcaption></figure>"
    return f"<pre>{html.escape(markdown)}</pre>"


def _models(m: int) -> dict[str, StalenessModel]:
    return {
        f"poisson(lambda={m - 1})": poisson_for_workers(m),
        f"geometric(q=1-1/{m})": geometric_for_workers(m),
    }


def _staleness_section(report: _Report) -> None:
    rows = []
    for m in WORKERS:
        for name, model in _models(m).items():
            rows.append(
                {
                    "workers": m,
                    "model": name,
                    "mean": model.mean,
                    "var": model.var,
                    "tau_99.9%": model.support_max(1e-3),
                }
            )
    report.text("## Staleness models for m workers")
    report.table("staleness_models", pd.DataFrame(rows), "Poisson and geometric staleness by workers")


def _stepsize_section(report: _Report, m: int = 8) -> None:
    rows = []
    fig = new_figure(10.0, 4.0)
    axes = fig.subplots(1, 2)
    for ax, (name, model) in zip(axes, _models(m).items(), strict=True):
        tau = np.arange(model.support_max(1e-3) + 1)
        twin = ax.twinx()
        plot_pmf(twin, tau, model.pmf(tau), label=name)
        for rule in RULES:
            s = make_rule(rule, model, beta=0.1, workers=m)
            plot_scale(ax, tau, s(tau), label=rule)
            props = check_properties(s, model)
            rows.append(
                {
                    "staleness": name,
                    "rule": rule,
                    "E_P[s]": props.expected_scale,
                    "max s": props.max_scale,
                    "positive": props.positive,
                    "non_increasing": props.non_increasing,
                }
            )
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.set_title(name)
        ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    report.text(f"## Step-size rules on the staleness of {m} workers")
    report.figure("stepsize_rules", fig, f"s(tau) of every rule, m = {m} (bars: P(tau))")
    report.table("stepsize_properties", pd.DataFrame(rows), "ASAP.SGD properties of each rule")


def _bound_section(report: _Report) -> None:
    rows = []
    for m in WORKERS:
        for name, model in _models(m).items():
            for rule in ("constant", "inverse", "tail", "mindthestep"):
                s = None if rule == "constant" else make_rule(rule, model)
                d = delay_moments(pmf=model, rule=s)
                r = evaluate_bound(
                    "nonconvex",
                    lsmooth=PROBLEM["L"],
                    sigma2_=PROBLEM["sigma2"],
                    delays=d,
                    f0=PROBLEM["f0"],
                    eps=PROBLEM["epsilon"],
                )
                rows.append(
                    {
                        "workers": m,
                        "staleness": name,
                        "rule": rule,
                        "eta0": r.eta,
                        "iterations_to_epsilon": r.iterations_to_epsilon,
                    }
                )
    frame = pd.DataFrame(rows)
    fig = new_figure()
    ax = fig.add_subplot()
    frame["family"] = frame["staleness"].str.split("(").str[0]
    for (family, rule_name), group in frame.groupby(["family", "rule"]):
        label = f"{rule_name}, {family}"
        ax.plot(group["workers"], group["iterations_to_epsilon"], marker="o", label=label)
    ax.set(xscale="log", yscale="log", xlabel="workers m", ylabel="iterations to epsilon (bound)")
    ax.legend(fontsize=7)
    report.text(
        "## Non-convex bound: iterations to epsilon by workers and rule\n\n"
        f"L = {PROBLEM['L']}, sigma2 = {PROBLEM['sigma2']}, f(x0) - f* = {PROBLEM['f0']}, "
        f"epsilon = {PROBLEM['epsilon']}; eta0 chosen by the bound."
    )
    report.figure("bound_iterations", fig, "Iterations to epsilon from the non-convex bound")
    report.table("bound_iterations", frame, "Iterations to epsilon")


def _measured_section(report: _Report, quick: bool) -> None:
    rng = np.random.default_rng(2024)
    problem = random_quadratic(rng, dim=10, lsmooth=1.0, mu=0.05, sigma2=0.5)
    x0 = problem.x_star + 1.0
    model = Empirical.from_pmf(truncated_pmf(poisson_for_workers(8)))
    d = delay_moments(pmf=model)
    eta0 = BOUNDS["pl"].step_limit(problem.lsmooth, d)
    t_max = 1000 if quick else 4000
    run = run_delayed_sgd(problem, x0, eta0, model, t_max + 1, rng, runs=16 if quick else 64)
    checkpoints = np.unique(np.geomspace(1, t_max, 40).astype(int))
    f0 = float(problem.value(x0) - problem.f_star)
    bound = np.array(
        [
            evaluate_bound(
                "pl",
                lsmooth=problem.lsmooth,
                sigma2_=problem.sigma2,
                delays=d,
                f0=f0,
                mu_=problem.mu,
                eta0=eta0,
                iterations=int(t),
            ).bound
            for t in checkpoints
        ],
        dtype=np.float64,
    )
    measured = run.gap[:, checkpoints].mean(axis=0)
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot(checkpoints, bound, label="PL bound")
    ax.plot(checkpoints, measured, marker=".", label=f"delayed SGD, mean of {run.runs} runs")
    ax.set(xscale="log", yscale="log", xlabel="iterations T", ylabel="E[f(x_T) - f*]")
    ax.legend()
    report.text(
        "## PL bound against delayed SGD (quadratic, Poisson(7) delays, m = 8)\n\n"
        f"L = 1, mu = 0.05, sigma2 = 0.5, eta0 = {eta0:.4g} (the bound's limit); at T = {t_max} "
        f"the measured gap is {measured[-1]:.4g} and the bound {bound[-1]:.4g}."
    )
    report.figure("bound_vs_measured", fig, "E[f(x_T) - f*]: bound and measurement")


def run_demo(out: Path, quick: bool = False) -> Path:
    """Write the demo report to ``out``; return the path of ``index.html``."""
    report = _Report(out)
    report.text(
        "# asgd demo\n\nStaleness models, step-size rules and convergence bounds on the built-in default."
    )
    stages: list[tuple[str, Callable[[], None]]] = [
        ("staleness models", lambda: _staleness_section(report)),
        ("step-size rules", lambda: _stepsize_section(report)),
        ("bounds", lambda: _bound_section(report)),
        ("bound vs delayed SGD", lambda: _measured_section(report, quick)),
    ]
    with click.progressbar(length=len(stages), label="asgd demo", file=sys.stderr) as bar:
        for name, run_stage in stages:
            bar.label = f"asgd demo: {name}"
            run_stage()
            bar.update(1)
    return report.write()
