"""``asgd bound``: a convergence bound for delayed SGD, and the iterations to reach epsilon."""

from __future__ import annotations

import math
from typing import Any

import click

from real_exec.app.options import (
    NON_NEGATIVE,
    POSITIVE,
    cli_errors,
    emit,
    json_option,
    parse_pmf,
    rule_kwargs,
    rule_options,
)
from theory.bounds import BOUNDS, evaluate_bound
from theory.delays import delay_moments
from theory.spec import RULES, make_rule

__all__ = ["bound"]


@click.command()
@click.argument("kind", type=click.Choice(list(BOUNDS)), metavar="KIND")
@click.option("--L", "lsmooth", type=POSITIVE, required=True, help="Smoothness L > 0.")
@click.option("--sigma2", type=NON_NEGATIVE, required=True, help="Gradient noise variance >= 0.")
@click.option("--f0", type=NON_NEGATIVE, default=None, help="f(x0) - f* (nonconvex, pl).")
@click.option("--r0", type=NON_NEGATIVE, default=None, help="||x0 - x*|| (convex).")
@click.option("--mu", type=POSITIVE, default=None, help="PL constant mu in (0, L] (pl).")
@click.option("--tau-max", type=click.IntRange(min=0), default=None, help="Maximum delay.")
@click.option("--tau-avg", type=NON_NEGATIVE, default=None, help="Average delay (<= tau-max).")
@click.option("--eta", type=POSITIVE, default=None, help="eta0 (default: the best the bound allows).")
@click.option(
    "--rule",
    type=click.Choice(RULES),
    default="constant",
    show_default=True,
    help="Step-size rule; a non-constant one needs --pmf.",
)
@rule_options
@click.option("--epsilon", type=POSITIVE, default=None, help="Target accuracy.")
@click.option("--iterations", type=click.IntRange(min=1), default=None, help="Iterations T.")
@json_option
@cli_errors
def bound(
    kind: str,
    lsmooth: float,
    sigma2: float,
    f0: float | None,
    r0: float | None,
    mu: float | None,
    tau_max: int | None,
    tau_avg: float | None,
    eta: float | None,
    rule: str,
    pmf: str | None,
    epsilon: float | None,
    iterations: int | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """Evaluate convergence bound KIND (nonconvex, convex, pl) for delayed SGD."""
    model = parse_pmf(pmf) if pmf is not None else None
    if rule != "constant" and model is None:
        raise click.UsageError(f"--rule {rule} needs --pmf (adaptive steps assume i.i.d. delays)")
    s = None if rule == "constant" else make_rule(rule, model, **rule_kwargs(kw))
    if iterations is None and epsilon is None:
        raise click.UsageError("give --iterations or --epsilon (or both)")
    delays = delay_moments(pmf=model, rule=s, tau_max=tau_max, tau_avg=tau_avg)
    result = evaluate_bound(
        kind,
        lsmooth=lsmooth,
        sigma2_=sigma2,
        delays=delays,
        f0=f0,
        r0_=r0,
        mu_=mu,
        eta0=eta,
        iterations=iterations,
        eps=epsilon,
    )
    reachable = result.iterations_to_epsilon is None or math.isfinite(result.iterations_to_epsilon)
    payload = result.to_dict() | {
        "rule": rule,
        "reachable": reachable,
        "expression": str(BOUNDS[kind].expr),
    }
    how = "chosen" if result.eta_chosen else "given"
    lines = [
        f"{kind} bound on {result.quantity}",
        f"  eta0 = {result.eta:.6g} ({how}; the bound allows <= {result.eta_max:.6g}), rule {rule}",
        f"  delays: tau_max = {delays.tau_max}, E[s] = {delays.m1:.4g}, E[s tau] = {delays.m_tau:.4g}",
    ]
    if result.bound is not None:
        lines.append(f"  bound after T = {iterations}: {result.bound:.6g}")
    if result.iterations_to_epsilon is not None:
        n = result.iterations_to_epsilon
        reach = f"{int(n)}" if reachable else f"never (floor {result.floor:.4g} >= epsilon)"
        lines.append(f"  iterations to epsilon = {epsilon:g}: {reach}")
    lines.append(f"  source: {result.source}")
    emit(payload, as_json, lines)
