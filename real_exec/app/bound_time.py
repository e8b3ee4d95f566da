"""``asgd bound time``: each method's time to epsilon on a machine's compute times."""

from __future__ import annotations

from typing import Any

import click

from real_exec.app.choices import Speeds
from real_exec.app.options import NON_NEGATIVE, POSITIVE, cli_errors, emit, json_option

__all__ = ["time_command"]


class Times(click.ParamType):
    """A comma-separated list of seconds per gradient, one per worker (``0.001,0.004``)."""

    name = "times"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from theory.time_bounds import check_times

        try:
            return tuple(check_times([float(v) for v in str(value).split(",")]).tolist())
        except ValueError as exc:
            bad = "not a list of numbers" if "could not convert" in str(exc) else str(exc)
            self.fail(f"{value!r}: {bad} (e.g. 0.001,0.004)", param, ctx)


@click.command()
@click.option("--tau", type=Times(), default=None, help="Seconds per gradient of each worker, e.g. 1,1,4.")
@click.option("--profile", "profile_src", default=None, help="A shipped profile name or TOML file.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Workers on --profile.")
@click.option(
    "--speeds", type=Speeds(), default=None, help="Slowdown factors cycled over the workers (e.g. 1,4)."
)
@click.option(
    "--pattern",
    default=None,
    help="Slowdown factors by name: equal, linear (1..n), quadratic (1..n^2), straggler:X, random:SEED.",
)
@click.option(
    "--trace", "trace_src", default=None, help="A saved Trace (stem, .parquet or .json): its workers' times."
)
@click.option("--L", "lsmooth", type=POSITIVE, required=True, help="Smoothness L > 0.")
@click.option("--sigma2", type=NON_NEGATIVE, required=True, help="Gradient noise variance >= 0.")
@click.option("--f0", type=NON_NEGATIVE, required=True, help="f(x0) - f*.")
@click.option("--epsilon", type=POSITIVE, required=True, help="Target: average E||grad f||^2 <= epsilon.")
@click.option(
    "--simulate",
    is_flag=True,
    help="Also run each method in the simulator on a quadratic with these constants (dim 10, "
    "16 noise draws) and give its time to epsilon beside the bound.",
)
@json_option
@cli_errors
def time_command(
    tau: tuple[float, ...] | None,
    profile_src: str | None,
    workers: int | None,
    speeds: tuple[float, ...] | None,
    pattern: str | None,
    trace_src: str | None,
    lsmooth: float,
    sigma2: float,
    f0: float,
    epsilon: float,
    simulate: bool,
    as_json: bool,
) -> None:
    """Time to epsilon of minibatch, asynchronous, Ringmaster and Rennala SGD on these workers.

    Give the workers' seconds per gradient as --tau, as a profile (--profile, --workers, and
    --speeds or --pattern), or as a saved Trace (--trace). The tightest bound is marked.
    """
    from theory.time_bounds import Objective, rate, time_bounds

    times, where = _times(tau, profile_src, workers, speeds, pattern, trace_src)
    objective = Objective(lsmooth, sigma2, f0, epsilon)
    results = time_bounds(times, objective)
    simulated = _simulated(times, objective) if simulate else {}
    best = min(results, key=lambda r: r.time)
    n = len(times)
    optimum, m_star = rate(times, objective)
    asynchronous = next(r for r in results if r.method == "asynchronous")
    payload = {
        "workers": n,
        "times": list(times),
        "source": where,
        "objective": {"L": lsmooth, "sigma2": sigma2, "f0": f0, "epsilon": epsilon},
        "bounds": [
            r.to_dict() | ({"simulated": simulated.get(r.method)} if simulate else {}) for r in results
        ],
        "tightest": best.method,
        "lower_bound_rate": optimum,
        "optimal_workers": m_star,
        "asynchronous_over_best_bound": asynchronous.time / best.time,
        "asynchronous_over_optimum_rate": asynchronous.rate / optimum,
    }
    lines = [
        f"time to epsilon = {epsilon:g} on {where}: {n} workers, {_seconds(min(times))} to "
        f"{_seconds(max(times))} per gradient (* the tightest)",
        f"   {'method':13s} {'time bound':>11s} {'iterations':>11s}  {'parameter':12s} "
        f"{'workers used':>12s} {'papers rate':>11s}" + (f" {'simulated':>10s}" if simulate else ""),
    ]
    for r in results:
        mark = "*" if r is best else " "
        lines.append(
            f" {mark} {r.method:13s} {_seconds(r.time):>11s} {r.iterations:>11,.0f}  "
            f"{r.parameter + ' = ' + str(r.value):12s} {r.workers_used:>12d} {_seconds(r.rate):>11s}"
            + (f" {_seconds_or_none(simulated.get(r.method)):>10s}" if simulate else "")
        )
    lines += [
        f"the lower bound's rate (no constant): {_seconds(optimum)} with the fastest {m_star} of {n} workers",
        f"asynchronous SGD on all {n} workers: {payload['asynchronous_over_best_bound']:.2f}x the tightest "
        f"bound ({best.method}); {payload['asynchronous_over_optimum_rate']:.2f}x the optimum by the "
        "papers' rates",
        "constants derived in docs/theory.md (Time to epsilon); the rates are the papers', without constants",
    ]
    emit(payload, as_json, lines)


def _times(
    tau: tuple[float, ...] | None,
    profile_src: str | None,
    workers: int | None,
    speeds: tuple[float, ...] | None,
    pattern: str | None,
    trace_src: str | None,
) -> tuple[list[float], str]:
    """The compute times from exactly one of --tau, --profile, --trace, and what they are."""
    given = [name for name, v in (("--tau", tau), ("--profile", profile_src), ("--trace", trace_src)) if v]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --tau, --profile (with --workers) or --trace")
    if profile_src is None and (workers or speeds or pattern):
        raise click.UsageError("--workers, --speeds and --pattern go with --profile")
    if speeds and pattern:
        raise click.UsageError("give --speeds or --pattern, not both")
    if tau is not None:
        return list(tau), "the given compute times"
    if trace_src is not None:
        from theory.time_bounds import times_from_trace
        from theory.trace import Trace

        try:
            trace = Trace.load(trace_src)
        except (OSError, ValueError) as exc:
            raise click.BadParameter(str(exc), param_hint="--trace") from None
        return times_from_trace(trace).tolist(), f"the Trace {trace_src}"
    from staleness_sim.profile import load_profile
    from theory.time_bounds import speed_pattern

    if workers is None:
        raise click.UsageError("--profile needs --workers")
    try:
        profile = load_profile(str(profile_src))
        factors = speed_pattern(pattern, workers) if pattern else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--pattern" if pattern else "--profile") from None
    if factors is not None:
        profile = profile.with_overrides(speed=[float(f) for f in factors])
    elif speeds:
        profile = profile.with_overrides(speed=list(speeds))
    label = profile.name
    if pattern or speeds:
        label += f", speeds {pattern or ','.join(f'{v:g}' for v in speeds or ())}"
    return profile.gradient_times(workers).tolist(), label


def _simulated(times: list[float], objective: Any) -> dict[str, float | None]:
    """Each method's simulated time to epsilon (:mod:`staleness_sim.time_check`)."""
    import numpy as np

    from staleness_sim.time_check import check_time_bounds, quadratic_for

    problem, x0 = quadratic_for(objective)
    tau = np.asarray(times, dtype=np.float64)
    checks = check_time_bounds(problem, x0, tau / tau.min(), objective.epsilon, seconds=float(tau.min()))
    return {c.bound.method: c.reached for c in checks}


def _seconds_or_none(value: float | None) -> str:
    return "not reached" if value is None else _seconds(value)


def _seconds(value: float) -> str:
    """Seconds for people: ``1.23 ms``, ``4.5 s``, ``2.1 h``."""
    if value >= 7200:
        return f"{value / 3600:.3g} h"
    if value >= 120:
        return f"{value / 60:.3g} min"
    if value >= 1:
        return f"{value:.3g} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    return f"{value * 1e6:.3g} us"
