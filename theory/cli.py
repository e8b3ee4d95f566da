"""The ``theory`` commands of ``asgd``: ``stepsize``, ``bound`` and ``fit``."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
import numpy as np

from theory.bounds import BOUNDS, evaluate_bound
from theory.delays import delay_moments
from theory.fitting import fit_models
from theory.properties import check_properties
from theory.spec import RULES, make_rule, parse_pmf_spec
from theory.staleness import as_pmf
from theory.trace import read_staleness

__all__ = ["FiniteFloat", "cli_errors", "emit", "json_option", "register"]

F = TypeVar("F", bound=Callable[..., Any])


class FiniteFloat(click.ParamType):
    """A float that must be finite and inside ``[low, high]`` (``low`` open if asked)."""

    name = "float"

    def __init__(self, low: float = -math.inf, high: float = math.inf, low_open: bool = False):
        self.low, self.high, self.low_open = low, high, low_open

    def describe(self) -> str:
        if math.isfinite(self.high):
            return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"
        return f"> {self.low:g}" if self.low_open else f">= {self.low:g}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number; accepted: {self.describe()}", param, ctx)
        below = x <= self.low if self.low_open else x < self.low
        if not math.isfinite(x) or below or x > self.high:
            self.fail(f"{value} is outside the accepted range {self.describe()}", param, ctx)
        return x


POSITIVE = FiniteFloat(0.0, low_open=True)
NON_NEGATIVE = FiniteFloat(0.0)


def cli_errors(func: F) -> F:
    """Turn ``ValueError``/``OSError`` from the library into a one-line usage error."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ValueError, OSError) as exc:
            raise click.UsageError(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def json_option(func: F) -> F:
    """The ``--json`` flag every command has."""
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(func)


def emit(payload: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    """Print ``payload`` as one JSON document, or ``lines`` as text."""
    if as_json:
        click.echo(json.dumps(_jsonable(payload)))
    else:
        click.echo("\n".join(lines))


def _jsonable(obj: Any) -> Any:
    """Replace numpy scalars by Python ones and non-finite floats by ``None``."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def rule_options(func: F) -> F:
    """``--pmf`` and the options of the step-size rules."""
    options = [
        click.option(
            "--pmf",
            "pmf",
            help="Staleness: poisson:LAMBDA | poisson:m=M | geometric:Q | geometric:m=M | "
            "pmf:P0,P1,... | empirical:FILE",
        ),
        click.option(
            "--amplitude",
            type=FiniteFloat(0.0, 1.0),
            default=0.5,
            show_default=True,
            help="TAIL-tau amplitude A in [0, 1].",
        ),
        click.option(
            "--K",
            "momentum",
            type=FiniteFloat(0.0, 0.999999),
            default=None,
            help="MindTheStep target momentum K in [0, 1) (default E[tau]/(1+E[tau])).",
        ),
        click.option("--beta", type=NON_NEGATIVE, default=None, help="Exponential rule's beta >= 0."),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help="Workers m, for FLeet's tau_thr = m + 1 (default round(E[tau]) + 1).",
        ),
        click.option("--cap", type=POSITIVE, default=10.0, show_default=True, help="MindTheStep cap > 0."),
        click.option(
            "--cdf",
            type=click.Choice(["strict", "inclusive", "midpoint"]),
            default="strict",
            show_default=True,
            help="TAIL-tau CDF: P(<tau), P(<=tau) or the midpoint.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _parse_pmf(spec: str) -> Any:
    try:
        return parse_pmf_spec(spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--pmf") from None


def _rule_kwargs(kw: dict[str, Any]) -> dict[str, Any]:
    keys = ("amplitude", "momentum", "beta", "workers", "cap", "cdf")
    return {k: kw[k] for k in keys}


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
    model = _parse_pmf(pmf)
    s = make_rule(rule, model, **_rule_kwargs(kw))
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
    from theory.plots import new_figure, plot_pmf, plot_scale
    from theory.trace import atomic_write

    fig = new_figure()
    ax = fig.add_subplot()
    twin = ax.twinx()
    plot_pmf(twin, tau, probs, label=f"P(tau), {spec}")
    plot_scale(ax, tau, scale, label=f"s(tau), {rule}")
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_title(f"{rule} step scale on {spec}")
    ax.legend(loc="upper right")
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))


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
    model = _parse_pmf(pmf) if pmf is not None else None
    if rule != "constant" and model is None:
        raise click.UsageError(f"--rule {rule} needs --pmf (adaptive steps assume i.i.d. delays)")
    s = None if rule == "constant" else make_rule(rule, model, **_rule_kwargs(kw))
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
    how = "chosen" if result.eta_prescribed else "given"
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


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@json_option
@cli_errors
def fit(file: Path, as_json: bool) -> None:
    """Fit Poisson and geometric models to the staleness in FILE (a Trace or a CSV of tau)."""
    if not file.exists():
        raise click.BadParameter(f"{file} does not exist", param_hint="FILE")
    try:
        samples = read_staleness(file)
    except (KeyError, ValueError, OSError) as exc:
        raise click.BadParameter(f"cannot read staleness from {file}: {exc}", param_hint="FILE") from None
    results = fit_models(samples)
    payload = {
        "file": str(file),
        "samples": int(samples.size),
        "mean": float(samples.mean()),
        "var": float(samples.var()),
        "fits": [r.to_dict() for r in results],
    }
    lines = [
        f"{samples.size} staleness samples, mean {samples.mean():.4g}, var {samples.var():.4g}",
        "model      params                 TV      W1      G-test p",
    ]
    for r in results:
        par = ", ".join(f"{k}={v:.4g}" for k, v in r.params.items())
        lines.append(f"{r.model:<10} {par:<22} {r.tv:<7.4f} {r.w1:<7.4f} {r.p_value:.3g}")
    emit(payload, as_json, lines)


def register(group: click.Group) -> None:
    """Add the theory commands to ``group``."""
    for command in (stepsize, bound, fit):
        group.add_command(command)
