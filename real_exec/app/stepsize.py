"""``asgd stepsize``: a step-size rule s(tau) on a staleness pmf, and its properties."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from real_exec.app.options import cli_errors, emit, json_option, parse_pmf, rule_kwargs, rule_options
from theory.properties import check_properties
from theory.spec import RULES, make_rule
from theory.staleness import as_pmf

__all__ = ["stepsize"]


@click.command()
@click.argument("rule", type=click.Choice(RULES), metavar="RULE")
@rule_options
@click.option(
    "--tau-max",
    type=click.IntRange(min=0),
    default=None,
    help="Show tau = 0..N (default: N covering 99.9% of the mass).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write s(tau) and P(tau) to this PNG.",
)
@json_option
@cli_errors
def stepsize(
    rule: str, pmf: str | None, tau_max: int | None, plot: Path | None, as_json: bool, **kw: Any
) -> None:
    """Evaluate step-size RULE s(tau) on a staleness pmf and check its properties."""
    if pmf is None:
        raise click.UsageError("--pmf is required (e.g. --pmf poisson:7)")
    model = parse_pmf(pmf)
    s = make_rule(rule, model, **rule_kwargs(kw))
    props = check_properties(s, model)
    n = tau_max if tau_max is not None else int(np.searchsorted(np.cumsum(as_pmf(model)), 0.999))
    tau = np.arange(n + 1)
    scale, probs = s(tau), model.pmf(tau)
    if plot is not None:
        _plot_stepsize(plot, rule, pmf, tau, scale, probs)
    payload = {
        "rule": rule,
        "pmf_spec": pmf,
        "tau": tau.tolist(),
        "scale": scale.tolist(),
        "pmf": probs.tolist(),
        "expected_scale": props.expected_scale,
        "properties": props.to_dict(),
    }
    lines = [f"rule {rule} on {pmf}: E_P[s] = {props.expected_scale:.6g}", "tau  P(tau)      s(tau)"]
    lines += [f"{t:>3}  {p:<10.4g}  {v:.6g}" for t, p, v in zip(tau, probs, scale, strict=True)]
    flags = ", ".join(f"{k}={v}" for k, v in props.to_dict().items() if isinstance(v, bool))
    lines.append(f"properties: {flags}, max={props.max_scale:.6g}")
    emit(payload, as_json, lines)


def _plot_stepsize(path: Path, rule: str, spec: str, tau: Any, scale: Any, probs: Any) -> None:
    from theory.plots import new_figure, plot_pmf, plot_scale, save_figure

    fig = new_figure()
    ax = fig.add_subplot()
    twin = ax.twinx()
    plot_pmf(twin, tau, probs, label=f"P(tau), {spec}")
    plot_scale(ax, tau, scale, label=f"s(tau), {rule}")
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_title(f"{rule} step scale on {spec}")
    ax.legend(loc="upper right")
    save_figure(fig, path, dpi=120)
