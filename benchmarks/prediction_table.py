"""Predicted against measured time to target on this machine (the table of docs/prediction.md).

Run: ``python benchmarks/prediction_table.py [--dataset fashion-mnist] [--target 0.87]
[--budget 30] [--reps 5]``. For lock-based, HOGWILD! and Leashed-SGD: 1 thread calibrated on
1 thread, 2 threads calibrated on 2, and 2 threads calibrated on 1 (the honest test: a
prediction for a thread count never run, with the gradient's contention between the busy cores
measured by a probe, ``--contention-seconds``, and for all but HOGWILD! the publish's on the one
vector by another; for HOGWILD!, the share of an update lost when two writes overlap measured
by a third, ``--lost-update-seconds``). Each row is ``asgd predict
--measure``, with the repetitions interleaved: each one calibrates on a short real run, replays one schedule
and makes one real run to the target, so that calibration and measurement come from the
same stretch of time on a machine whose speed drifts. ``--algos`` and ``--setups "2:1"``
(threads: calibration threads; ``;``-separated) choose rows.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from real_exec.executor.monitor import Target
from real_exec.executor.problems import problem_from_options
from real_exec.study.predict.forecast import Outcomes, Trial, calibrate_here, forecast, measure
from theory.survival import ratio_interval, same_distribution_pvalue

ALGOS = ("lock", "hogwild", "leashed")
SETUPS = ((1, 1), (2, 2), (2, 1))  # (threads, calibration threads)


def _quartiles(s: dict) -> str:
    return f"{s['time_to_target_median']:.2f} ({s['q25']:.2f}-{s['q75']:.2f})"


def _rate(per_rep: list[dict]) -> float:
    """Median updates per second to the target over the repetitions that reached it."""
    rates = [r["updates_to_target"] / r["time_to_target"] for r in per_rep if r["reached"]]
    return float(np.median(rates)) if rates else float("nan")


def _factors(factors: list[float]) -> str:
    """The repetitions' gradient- or publish-time factors for the predicted threads (1: none
    applied); the gradient's holds the main thread's share where the calibration left a core
    idle and the prediction does not (``calibrate_here``)."""
    if all(f == 1.0 for f in factors):
        return "-"
    return f"x{np.median(factors):.3f} ({min(factors):.3f}-{max(factors):.3f})"


def _lost(algo: str, lost: list[float]) -> str:
    """HOGWILD!'s lost share per overlapping write over the repetitions' probes."""
    if algo != "hogwild":
        return "-"
    return f"{np.median(lost):.1%} ({min(lost):.1%}-{max(lost):.1%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--target", type=float, default=0.87, help="test accuracy")
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--eta", type=float, default=0.05)
    parser.add_argument("--check-every", type=float, default=0.1)
    parser.add_argument("--calibrate-seconds", type=float, default=3.0)
    parser.add_argument(
        "--contention-seconds",
        type=float,
        default=1.0,
        help="contention probe where threads differ (0: none)",
    )
    parser.add_argument(
        "--lost-update-seconds",
        type=float,
        default=None,
        help="HOGWILD!'s lost-update probe (default: the calibration's seconds; 0: none)",
    )
    parser.add_argument("--algos", default=",".join(ALGOS))
    parser.add_argument("--setups", default=None, help='e.g. "2:1;2:2" (default: 1:1, 2:2, 2:1)')
    args = parser.parse_args()
    algos = tuple(args.algos.split(","))
    setups = (
        SETUPS
        if args.setups is None
        else tuple((int(t), int(c)) for t, c in (s.split(":") for s in args.setups.split(";")))
    )
    problem = problem_from_options(None, "mlp", args.dataset, seed=0)
    target = Target(accuracy=args.target)
    options = {"eta": args.eta, "target": target, "budget": args.budget}
    print(
        f"MLP on {args.dataset}, target test accuracy {args.target:g}, eta {args.eta:g}, budget "
        f"{args.budget:g} s, {args.reps} repetitions, checks every {args.check_every:g} s\n"
    )
    print(
        "| algo | threads | calibrated on | predicted median s (quartiles) | measured median s (quartiles) "
        "| predicted / measured (95% bootstrap) | log-rank p | reached (pred, meas) "
        "| updates/s (pred, meas) | gradient contention | publish contention | lost on overlap | replay s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    within = total = 0
    for threads, cal in setups:
        for algo in algos:
            per_rep: dict[str, list] = {"pred": [], "meas": []}
            replay = 0.0
            factors, publishes, lost = [], [], []
            for rep in range(args.reps):  # interleaved: each repetition calibrates just before it runs
                profile = calibrate_here(
                    problem,
                    algo,
                    cal,
                    eta=args.eta,
                    seconds=args.calibrate_seconds,
                    predict_threads=threads,
                    contention_seconds=args.contention_seconds,
                    check_every=args.check_every,
                    lost_update_seconds=args.lost_update_seconds,
                )
                factors.append(profile.contention_factor(threads))
                publishes.append(profile.publish_contention_factor(threads))
                lost.append(profile.lost_on_overlap)
                trial = Trial(algo, threads, reps=1, check_every=args.check_every, **options)
                start = time.perf_counter()
                f1 = forecast(problem, replace(trial, seed=1000 + rep), profile)
                replay += time.perf_counter() - start
                m1 = measure(problem, replace(trial, seed=rep))
                per_rep["pred"] += f1.per_rep
                per_rep["meas"] += m1.per_rep
            f = Outcomes.of(per_rep["pred"], args.budget)
            m = Outcomes.of(per_rep["meas"], args.budget)
            ratio = f.summary["time_to_target_median"] / m.summary["time_to_target_median"]
            p = same_distribution_pvalue(f.per_rep, m.per_rep, args.budget)
            low, high = ratio_interval(f.per_rep, m.per_rep, args.budget)
            within += abs(ratio - 1) <= 0.2
            total += 1
            print(
                f"| {algo} | {threads} | {cal} thread{'s' if cal > 1 else ''} | {_quartiles(f.summary)} | "
                f"{_quartiles(m.summary)} | {ratio:.2f} ({low:.2f}-{high:.2f}) | {p:.2f} | "
                f"{f.summary['reached_fraction']:.0%}, "
                f"{m.summary['reached_fraction']:.0%} | {_rate(f.per_rep):,.0f}, {_rate(m.per_rep):,.0f} | "
                f"{_factors(factors)} | {_factors(publishes)} | {_lost(algo, lost)} | {replay:.1f} |",
                flush=True,
            )
    print(f"\nwithin 20% of the measured median: {within} of {total}")


if __name__ == "__main__":
    main()
