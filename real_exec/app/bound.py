"""``asgd bound``: a convergence bound for delayed SGD and the iterations to reach epsilon
(``asgd bound nonconvex|convex|pl``), or the time to reach it (``asgd bound time``)."""

from __future__ import annotations

import math
from typing import Any

import click

from real_exec.app.bound_time import time_command
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
from theory.bounds import BOUNDS, THEOREMS, BoundResult, all_bounds, evaluate_bound, theorem_delays, tightest
from theory.spec import RULES, make_rule

__all__ = ["bound"]


@click.group()
def bound() -> None:
    """Convergence bounds: iterations to epsilon (nonconvex, convex, pl) or time (time)."""


@click.command()
@click.option("--L", "lsmooth", type=POSITIVE, required=True, help="Smoothness L > 0.")
@click.option("--sigma2", type=NON_NEGATIVE, required=True, help="Gradient noise variance >= 0.")
@click.option("--f0", type=NON_NEGATIVE, default=None, help="f(x0) - f* (nonconvex, pl).")
@click.option("--r0", type=NON_NEGATIVE, default=None, help="||x0 - x*|| (convex).")
@click.option("--mu", type=POSITIVE, default=None, help="PL constant mu in (0, L] (pl).")
@click.option("--tau-max", type=click.IntRange(min=0), default=None, help="Maximum delay.")
@click.option("--tau-avg", type=NON_NEGATIVE, default=None, help="Average delay (<= tau-max).")
@click.option("--eta", type=POSITIVE, default=None, help="eta0 (default: the best the bound allows).")
@click.option(
    "--theorem",
    type=click.Choice(list(THEOREMS)),
    default="classic",
    show_default=True,
    help="Whose step-size condition (docs/theory.md).",
)
@click.option("--all", "every", is_flag=True, help="Every theorem that applies; the tightest marked.")
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
def iterations_command(
    lsmooth: float,
    sigma2: float,
    f0: float | None,
    r0: float | None,
    mu: float | None,
    tau_max: int | None,
    tau_avg: float | None,
    eta: float | None,
    theorem: str,
    every: bool,
    rule: str,
    pmf: str | None,
    epsilon: float | None,
    iterations: int | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """Evaluate this convergence bound for delayed SGD (its name: nonconvex, convex, pl)."""
    kind = click.get_current_context().info_name or "nonconvex"
    model = parse_pmf(pmf) if pmf is not None else None
    if kind == "pl" and tau_avg is not None and model is None:
        raise click.BadParameter(
            "the pl bound has no average-delay form: without i.i.d. delays (--pmf) it takes the "
            "worst case, tau_max",
            param_hint="--tau-avg",
        )
    notes = _cut_note(model, tau_max)
    workers = kw.get("workers")  # the fleet rule's workers; also the workers theorem's
    if rule != "constant" and model is None:
        raise click.UsageError(f"--rule {rule} needs --pmf (adaptive steps assume i.i.d. delays)")
    options = rule_kwargs(kw)
    if rule == "ringmaster" and options["threshold"] is None and epsilon is not None:
        options["threshold"] = max(1, math.ceil(sigma2 / epsilon))  # Ringmaster's R = sigma2/eps
    s = None if rule == "constant" else make_rule(rule, model, **options)
    if iterations is None and epsilon is None:
        raise click.UsageError("give --iterations or --epsilon (or both)")
    common: dict[str, Any] = dict(
        lsmooth=lsmooth, sigma2=sigma2, f0=f0, r0=r0, mu=mu, eta0=eta, iterations=iterations, eps=epsilon
    )
    if every:
        results, skipped = all_bounds(
            kind, pmf=model, rule=s, tau_max=tau_max, tau_avg=tau_avg, workers=workers, **common
        )
        best = tightest(results)
        payload: dict[str, Any] = {
            "bounds": [_payload(r, rule, kind) for r in results],
            "tightest": best.theorem,
            "not_applicable": skipped,
        }
        lines = [f"{kind} bound on {best.quantity}, by theorem (* the tightest)"]
        for r in results:
            mark = "*" if r is best else " "
            at = f", bound after T = {iterations}: {r.bound:.6g}" if r.bound is not None else ""
            lines.append(f" {mark} {r.theorem:22s} eta0 <= {r.eta_max:.4g} (used {r.eta:.4g}){_reach(r)}{at}")
        lines += [f"   {name}: {why}" for name, why in skipped.items()]
        emit(payload | ({"note": notes[0]} if notes else {}), as_json, lines + notes)
        return
    if THEOREMS[theorem].rule is not None:
        rule = str(THEOREMS[theorem].rule)
    delays = theorem_delays(theorem, pmf=model, rule=s, tau_max=tau_max, tau_avg=tau_avg, workers=workers)
    result = evaluate_bound(kind, delays=delays, theorem=theorem, **common)
    single = _payload(result, rule, kind)
    how = "chosen" if result.eta_chosen else "given"
    lines = [
        f"{kind} bound on {result.quantity} ({theorem} theorem)",
        f"  eta0 = {result.eta:.6g} ({how}; the bound allows <= {result.eta_max:.6g}), rule {rule}",
        f"  delays: tau_max = {delays.tau_max}, E[s] = {delays.m1:.4g}, E[s tau] = {delays.m_tau:.4g}",
    ]
    if result.bound is not None:
        lines.append(f"  bound after T = {iterations}: {result.bound:.6g}")
    if result.iterations_to_epsilon is not None:
        lines.append(f"  iterations to epsilon = {epsilon:g}:{_reach(result)}")
    lines.append(f"  source: {result.source}")
    emit(single | ({"note": notes[0]} if notes else {}), as_json, lines + notes)


def _cut_note(model: Any, tau_max: int | None) -> list[str]:
    """What ``--tau-max`` cuts off a ``--pmf`` (the bound renormalizes what is left)."""
    if model is None or tau_max is None:
        return []
    from theory.staleness import truncated_pmf

    p = truncated_pmf(model, None)
    dropped = float(p[tau_max + 1 :].sum())
    if dropped <= 0:
        return []
    return [
        f"note: --tau-max {tau_max} cuts the pmf: P(tau > {tau_max}) = {dropped:.3g} is dropped and the "
        "rest renormalized"
    ]


def _reachable(r: BoundResult) -> bool:
    return r.iterations_to_epsilon is None or math.isfinite(r.iterations_to_epsilon)


def _reach(r: BoundResult) -> str:
    if r.iterations_to_epsilon is None:
        return ""
    if not _reachable(r):
        return f" never (floor {r.floor:.4g} >= epsilon)"
    return f" {int(r.iterations_to_epsilon):,} iterations"


def _payload(r: BoundResult, rule: str, kind: str) -> dict[str, Any]:
    rule = THEOREMS[r.theorem].rule or rule
    return r.to_dict() | {"rule": rule, "reachable": _reachable(r), "expression": str(BOUNDS[kind].expr)}


for _kind in BOUNDS:
    bound.add_command(iterations_command, name=_kind)
bound.add_command(time_command, name="time")
