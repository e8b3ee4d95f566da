"""Time to epsilon with real threads: measured beside the simulated time and the bound.

Run: ``python benchmarks/time_to_epsilon_real.py [--settings "2:1,1;2:1,4;3:1,1,1"]
[--base 100] [--epsilon 0.5] [--budget 20] [--reps 3]``. The real ``quadratic`` problem (dim 50,
L = 1, sigma2 = 0.5, its noise drawn in the kernel) with each thread slowed by ``base x speed``
(``--speeds``, spin: the thread computes on its core), so that a gradient costs ~10-100 us
and the loop's own costs stay small beside it. For each ``threads: speeds`` setting:

1. a 1-second lock-based run measures each thread's seconds per gradient ``tau_i``
   (:func:`theory.time_bounds.times_from_trace`), which the bounds and the simulation take;
2. each method's bound (:func:`theory.time_bounds.time_bounds`, ``Delta`` of the run's own
   initial point) chooses its step, ``R`` and ``S``;
3. the simulated time to epsilon on those ``tau_i`` (:mod:`staleness_sim.time_check`);
4. real runs with the bound's parameters (minibatch = ``sync``; asynchronous = ``lock``;
   Ringmaster = ``lock --stepsize ringmaster --R R``, a gradient of delay ``>= R`` thrown away
   under the mutex; Rennala = ``rennala --step-batch S``), ``--reps`` each: the first time the running
   mean of ``||grad f||^2`` over the iterates is at most epsilon, from the monitor's samples
   (every ``--sample`` seconds, each with the steps applied so far) weighted by the steps
   between them.

Prints the table: the bound, the simulated and the measured median time, measured/bound and
measured/simulated, and how many of the real runs got there within the budget. With
``--figure PATH``: time to epsilon against the threads, per method, bound lines, simulated
and real points (one point per setting; give settings of one speed pattern, e.g.
``--settings "1:1;2:1,2;3:1,2,3;4:1,2,3,4"``).
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from real_exec.executor.config import RunConfig
from real_exec.executor.problems import make_problem
from real_exec.executor.runner import run
from staleness_sim.time_check import check_time_bounds, sampled_crossing
from theory.time_bounds import Objective, time_bounds, times_from_trace

ALGO = {
    "minibatch": ("sync", {}),
    "asynchronous": ("lock", {}),
    "ringmaster": ("lock", {}),
    "rennala": ("rennala", {}),
}


def _settings(text: str) -> list[tuple[int, tuple[float, ...]]]:
    out = []
    for part in text.split(";"):
        threads, speeds = part.split(":")
        out.append((int(threads), tuple(float(v) for v in speeds.split(","))))
    return out


def _initial(problem, threads: int, seed: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The initial point a run of ``seed`` starts from (as the runner draws it)."""
    init_seq = np.random.SeedSequence(seed).spawn(threads + 1)[0]
    return problem.init(np.random.default_rng(init_seq))


def _reached(curve, epsilon: float) -> float | None:  # type: ignore[no-untyped-def]
    """The first sampled time at which the running mean of ``||grad f(x_k)||^2`` over the
    iterates so far is <= epsilon, from the monitor's samples
    (:func:`staleness_sim.time_check.sampled_crossing`)."""
    return sampled_crossing(curve["grad_sq"], curve["steps"], curve["time"], epsilon)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", default="2:1,1;2:1,4;3:1,1,1")
    parser.add_argument("--base", type=float, default=100.0, help="slowdown of every thread")
    parser.add_argument("--epsilon", type=float, default=0.5)
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--sample", type=float, default=0.01)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--figure", default=None, help="write the figure here")
    args = parser.parse_args()
    curves: dict[str, dict[int, dict[str, float]]] = {}
    problem = make_problem("quadratic", np.random.default_rng(0))
    q = problem.info["quadratic"]
    print(f"quadratic: dim {q.dim}, L = {q.lsmooth:.3g}, sigma2 = {q.sigma2:g}; epsilon {args.epsilon:g}")
    print(
        "| threads | speeds | method | parameter | bound (s) | simulated (s) | simulated, sampled (s) "
        "| real median (s) | real/bound | real/simulated | real/sampled | reached |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for threads, speeds in _settings(args.settings):
        slowed = tuple(args.base * s for s in speeds)
        probe = run(
            RunConfig("lock", threads, 1e-3, seconds=1.0, speeds=slowed, check_updates=False), problem
        )
        tau = times_from_trace(probe.trace)
        x0 = _initial(problem, threads, 1)
        f0 = float(q.value(x0.astype(np.float64)) - q.f_star)
        objective = Objective(q.lsmooth, q.sigma2, f0, args.epsilon)
        bounds = {b.method: b for b in time_bounds(tau, objective)}
        order = np.argsort(tau)
        checks = check_time_bounds(
            q, x0, tau[order] / tau.min(), args.epsilon, seconds=float(tau.min()), sample=args.sample
        )
        simulated = {c.bound.method: c.reached for c in checks}
        sampled = {c.bound.method: c.reached_sampled for c in checks}
        for method, b in bounds.items():
            algo, _ = ALGO[method]
            extra: dict = {}
            if method == "ringmaster":
                extra = {"rule": "ringmaster", "threshold": b.value}
            if method == "rennala":
                extra = {"step_batch": b.value}
            times = []
            for _ in range(args.reps):  # one initial point (its Delta is the bound's); timings differ
                config = RunConfig(
                    algo, threads, b.eta, seconds=args.budget, seed=1, speeds=slowed,
                    check_updates=False, sample_every=args.sample, **extra,
                )  # fmt: skip
                result = run(config, problem)
                times.append(_reached(result.curve, args.epsilon))
            got = [t for t in times if t is not None]
            median = statistics.median(got) if got else float("nan")
            sim = simulated.get(method) or float("nan")
            seen = sampled.get(method) or float("nan")
            curves.setdefault(method, {})[threads] = {"bound": b.time, "simulated": sim, "real": median}
            label = f"{threads} | {','.join(f'{v:g}' for v in speeds)} | {method} | {b.parameter} = {b.value}"
            print(
                f"| {label} | {b.time:.3g} | {sim:.3g} | {seen:.3g} | {median:.3g} | {median / b.time:.3f} | "
                f"{median / sim:.2f} | {median / seen:.2f} | {len(got)}/{len(times)} |"
            )
        per_gradient = ", ".join(f"{t * 1e6:.0f} us" for t in tau)
        print(f"|   | measured seconds per gradient: {per_gradient} | | | | | | | | | | |")
    if args.figure:
        from theory.plots import new_figure, plot_time_to_epsilon, save_figure

        fig = new_figure()
        ax = plot_time_to_epsilon(fig.add_subplot(), curves, xlabel="threads here")
        last = ",".join(f"{v:g}" for v in _settings(args.settings)[-1][1])
        ax.set(title=f"Real threads here, slowed x{args.base:g}, speeds up to {last}")
        print(f"figure: {save_figure(fig, args.figure)}")


if __name__ == "__main__":
    main()
