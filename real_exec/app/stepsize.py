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
        from theory.plots import new_figure, plot_rules, save_figure

        fig = new_figure()
        title = f"{rule} step scale on {pmf}"
        plot_rules(fig.add_subplot(), tau, probs, {f"s(tau), {rule}": scale}, f"P(tau), {pmf}", title)
        save_figure(fig, plot, dpi=120)
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
    on_support = scale[probs > 0]
    if rule != "constant" and on_support.size and np.allclose(on_support, on_support[0], rtol=1e-6):
        note = (
            f"note: on this pmf {rule} gives s(tau) = {on_support[0]:.6g} for every tau: a constant "
            "step. It weights staleness only where the pmf differs from its own target"
            + (" (MindTheStep: choose --K other than the pmf's q)" if rule == "mindthestep" else "")
        )
        payload["note"] = note
        lines.append(note)
    emit(payload, as_json, lines)
