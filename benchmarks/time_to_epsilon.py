"""Time to epsilon: the bounds of theory.time_bounds against simulated runs (docs/theory.md).

Run: ``python benchmarks/time_to_epsilon.py [--workers 4,8,16] [--patterns ...] [--runs 16]
[--figure docs/figures/time_to_epsilon.png]``. On a quadratic with known constants (dim 10,
L = 1, sigma2 = 1, Delta ~ 1.6, epsilon = 0.1), workers with fixed compute times ``1 s x
speed`` and no other cost, each method (minibatch = synchronous SGD, asynchronous =
lock-based SGD, Ringmaster = lock-based SGD with the threshold R, Rennala SGD with S) runs in
the simulator with the parameters its bound chose, and SGD in the simulated schedule gives
the time at which the running average of E||grad f||^2 reaches epsilon
(:mod:`staleness_sim.time_check`).

Prints, per hardware pattern and worker count: each method's bound, parameter, simulated
time and ratio simulated/bound; whether every bound held; and whether the ranking of the
methods by their bounds is the ranking by simulated time. The figure plots time to epsilon
against the workers on the ``--figure-pattern`` hardware (bound lines, simulated points).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from staleness_sim.time_check import check_time_bounds
from theory.problems import random_quadratic
from theory.time_bounds import METHODS, speed_pattern

PATTERNS = ("equal", "linear", "quadratic", "straggler:10", "random:0")


def _problem():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    q = random_quadratic(rng, dim=10, lsmooth=1.0, mu=0.05, sigma2=1.0)
    return q, q.x_star + 3 * rng.standard_normal(10) / np.sqrt(10)


def _ranking(values: dict[str, float]) -> list[str]:
    return sorted(values, key=lambda m: values[m])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="4,8,16")
    parser.add_argument("--patterns", default=",".join(PATTERNS).replace("random:0", "random"))
    parser.add_argument("--epsilon", type=float, default=0.1)
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--figure", default=None)
    parser.add_argument("--figure-pattern", default="quadratic")
    args = parser.parse_args()
    q, x0 = _problem()
    delta = float(q.value(x0) - q.f_star)
    print(f"quadratic: dim 10, L = {q.lsmooth:.3g}, sigma2 = {q.sigma2:g}, Delta = {delta:.3g}")
    print(f"epsilon = {args.epsilon:g}; {args.runs} noise draws per schedule; compute times 1 s x speed\n")
    header = "| hardware | n | method | bound (s) | parameter | simulated (s) | simulated/bound |"
    print(header)
    print("|---|---|---|---|---|---|---|")
    held = total = agree = cases = 0
    ratios: dict[str, list[float]] = {m: [] for m in METHODS}
    curves: dict[str, dict[int, dict[str, float]]] = {m: {} for m in METHODS}
    started = time.perf_counter()
    for pattern in args.patterns.split(","):
        for n in (int(v) for v in args.workers.split(",")):
            checks = check_time_bounds(q, x0, speed_pattern(pattern, n), args.epsilon, runs=args.runs)
            for c in checks:
                b = c.bound
                sim = c.reached if c.reached is not None else float("nan")
                ok = c.reached is not None and c.reached <= b.time and c.steps_time <= b.time * (1 + 1e-9)
                held += ok
                total += 1
                ratios[b.method].append(c.ratio)
                if pattern == args.figure_pattern:
                    curves[b.method][n] = {"bound": b.time, "simulated": sim}
                print(
                    f"| {pattern} | {n} | {b.method} | {b.time:,.0f} | {b.parameter} = {b.value} | "
                    f"{sim:,.0f} | {c.ratio:.3f}{'' if ok else ' (bound missed)'} |"
                )
            by_bound = _ranking({c.bound.method: c.bound.time for c in checks})
            by_sim = _ranking({c.bound.method: c.reached or float("inf") for c in checks})
            cases += 1
            agree += by_bound == by_sim
            if by_bound != by_sim:
                order = f"ranking by bound {' < '.join(by_bound)}; by simulation {' < '.join(by_sim)}"
                print(f"|   | | {order} | | | | |")
    print(f"\nbounds held: {held} of {total}; rankings by bound = by simulation: {agree} of {cases}")
    for method, values in ratios.items():
        v = np.asarray(values)
        spread = f"range {np.nanmin(v):.3f}-{np.nanmax(v):.3f}"
        print(f"  {method:13s} simulated/bound median {np.nanmedian(v):.3f}, {spread}")
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.figure:
        _figure(curves, args.figure_pattern, args.figure)


def _figure(curves: dict[str, dict[int, dict[str, float]]], pattern: str, path: str) -> None:
    from theory.plots import new_figure, plot_time_to_epsilon, save_figure

    fig = new_figure()
    ax = plot_time_to_epsilon(fig.add_subplot(), curves)
    ax.set(ylabel="time to epsilon (s, compute 1 s x speed)", title=f"Time to epsilon, speeds {pattern}")
    print(f"figure: {save_figure(fig, path)}")


if __name__ == "__main__":
    main()
