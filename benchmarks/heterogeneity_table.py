"""Forecasts for a machine with slow workers, checked by real slow workers (docs/prediction.md).

Run: ``python benchmarks/heterogeneity_table.py [--dataset fashion-mnist] [--target 0.85]
[--budget 30] [--reps 5]``. Lock-based, HOGWILD!, Leashed-SGD and synchronous SGD train the
MLP to a test accuracy with 2 threads at speeds (1,1), (1,2), (1,4) and with 3 threads at
(1,1,3) (on a 2-core machine: more threads than cores). Each repetition calibrates every
algorithm and thread count on this machine as it is (no slow worker: the calibration never
sees the factors it predicts), then, for each setting, forecasts the time to target with the
factors given to the simulated schedule only, and measures it with real slow workers
(``--slow-mode``, default spin: the slow thread computes on its core). Repetitions are
interleaved, so that a forecast and its measurement come from the same stretch of time.

``--calibrate-threads 1`` calibrates on one thread instead (a prediction for a thread count
never run here; the gradient's contention between busy cores is then probed, as ``asgd
predict`` does); ``--settings "2:1,1;2:1,4"`` chooses the (threads: speeds) settings.

Prints the table (predicted and measured median time to target, the ratio's bootstrap
interval, the log-rank p; and the time split into the updates the training needed and the
rate at which they came, so that an error in the arithmetic and one in the timing show
apart), the share of rows within 20%, and every pair of algorithms whose
measured speed-up interval excludes 1 with the forecast's ranking of the two.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace

import numpy as np

from real_exec.executor.monitor import Target
from real_exec.executor.problems import problem_from_options
from real_exec.study.predict.forecast import Outcomes, Trial, calibrate_here, forecast, measure
from theory.survival import ratio_interval, same_distribution_pvalue, speedup_interval

ALGOS = ("lock", "hogwild", "leashed", "sync")
#: (threads, speeds) settings.
SETTINGS = ((2, (1.0, 1.0)), (2, (1.0, 2.0)), (2, (1.0, 4.0)), (3, (1.0, 1.0, 3.0)))


def _quartiles(s: dict) -> str:
    return f"{s['time_to_target_median']:.2f} ({s['q25']:.2f}-{s['q75']:.2f})"


def _label(speeds: tuple[float, ...]) -> str:
    return "(" + ",".join(f"{v:g}" for v in speeds) + ")"


def _median(outcomes: Outcomes, what: str) -> float:
    """Median over the repetitions that reached the target: updates to it, or their rate."""
    done = [r for r in outcomes.per_rep if r["reached"]]
    if not done:
        return float("nan")
    if what == "updates":
        return float(np.median([r["updates_to_target"] for r in done]))
    return float(np.median([r["updates_to_target"] / r["time_to_target"] for r in done]))


def _setting(text: str) -> tuple[int, tuple[float, ...]]:
    threads, speeds = text.split(":")
    return int(threads), tuple(float(v) for v in speeds.split(","))


def _times(outcomes: Outcomes) -> tuple[list[float], list[bool]]:
    return [r["time_to_target"] for r in outcomes.per_rep], [r["reached"] for r in outcomes.per_rep]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--target", type=float, default=0.85, help="test accuracy")
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--eta", type=float, default=0.05)
    parser.add_argument("--check-every", type=float, default=0.1)
    parser.add_argument("--calibrate-seconds", type=float, default=2.0)
    parser.add_argument("--slow-mode", choices=("spin", "sleep"), default="spin")
    parser.add_argument("--algos", default=",".join(ALGOS))
    parser.add_argument("--calibrate-threads", type=int, default=None, help="default: the setting's threads")
    parser.add_argument("--settings", default=None, help='e.g. "2:1,1;2:1,4" (default: the four above)')
    args = parser.parse_args()
    algos = tuple(args.algos.split(","))
    settings = SETTINGS if args.settings is None else tuple(_setting(s) for s in args.settings.split(";"))
    problem = problem_from_options(None, "mlp", args.dataset, seed=0)
    target = Target(accuracy=args.target)
    print(
        f"MLP on {args.dataset}, target test accuracy {args.target:g}, eta {args.eta:g}, budget "
        f"{args.budget:g} s, {args.reps} repetitions, checks every {args.check_every:g} s, "
        f"slow mode {args.slow_mode}, calibrated on "
        f"{args.calibrate_threads or 'the predicted'} thread(s), without slow workers\n"
    )
    runs: dict[tuple, dict[str, list]] = {}
    for rep in range(args.reps):  # interleaved: each repetition calibrates just before it runs
        for algo, threads in itertools.product(algos, sorted({t for t, _ in settings})):
            profile = calibrate_here(
                problem,
                algo,
                args.calibrate_threads or threads,
                eta=args.eta,
                seconds=args.calibrate_seconds,
                check_every=args.check_every,
                predict_threads=threads,
            )
            for speeds in (s for t, s in settings if t == threads):
                trial = Trial(
                    algo, threads, args.eta, target, args.budget, reps=1, check_every=args.check_every,
                    speeds=speeds, slow_mode=args.slow_mode,
                )  # fmt: skip
                row = runs.setdefault((threads, speeds, algo), {"pred": [], "meas": []})
                row["pred"] += forecast(problem, replace(trial, seed=1000 + rep), profile).per_rep
                row["meas"] += measure(problem, replace(trial, seed=rep)).per_rep
        print(f"repetition {rep + 1} of {args.reps} done", flush=True)
    print(
        "\n| algo | threads | speeds | predicted median s (quartiles) | measured median s (quartiles) "
        "| predicted / measured (95% bootstrap) | log-rank p | reached (pred, meas) "
        "| updates to target (pred, meas) | updates/s to target (pred, meas) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    within, outcomes = 0, {}
    for (threads, speeds, algo), row in runs.items():
        f, m = Outcomes.of(row["pred"], args.budget), Outcomes.of(row["meas"], args.budget)
        outcomes[threads, speeds, algo] = (f, m)
        ratio = f.summary["time_to_target_median"] / m.summary["time_to_target_median"]
        p = same_distribution_pvalue(f.per_rep, m.per_rep, args.budget)
        low, high = ratio_interval(f.per_rep, m.per_rep, args.budget)
        within += abs(ratio - 1) <= 0.2
        print(
            f"| {algo} | {threads} | {_label(speeds)} | {_quartiles(f.summary)} | {_quartiles(m.summary)} "
            f"| {ratio:.2f} ({low:.2f}-{high:.2f}) | {p:.2f} | {f.summary['reached_fraction']:.0%}, "
            f"{m.summary['reached_fraction']:.0%} | {_median(f, 'updates'):,.0f}, "
            f"{_median(m, 'updates'):,.0f} | {_median(f, 'rate'):,.0f}, {_median(m, 'rate'):,.0f} |"
        )
    print(f"\nwithin 20% of the measured median: {within} of {len(runs)}")
    print("\nclear measured comparisons (speed-up interval excludes 1) and the forecast's ranking:\n")
    print(
        "| threads | speeds | faster | slower | measured speed-up (95% bootstrap) | forecast speed-up "
        "| same ranking |"
    )
    print("|---|---|---|---|---|---|---|")
    for threads, speeds in settings:
        for a, b in itertools.combinations(algos, 2):
            (fa, ma), (fb, mb) = outcomes[threads, speeds, a], outcomes[threads, speeds, b]
            point, low, high = speedup_interval(_times(ma), _times(mb), paired=False)
            if not (low > 1 or high < 1):
                continue
            faster, slower = (b, a) if point > 1 else (a, b)
            shown = point if point > 1 else 1 / point
            interval = (low, high) if point > 1 else (1 / high, 1 / low)
            predicted = fa.summary["time_to_target_median"] / fb.summary["time_to_target_median"]
            predicted_shown = predicted if point > 1 else 1 / predicted
            print(
                f"| {threads} | {_label(speeds)} | {faster} | {slower} | {shown:.2f} "
                f"({interval[0]:.2f}-{interval[1]:.2f}) | {predicted_shown:.2f} | "
                f"{'yes' if predicted_shown > 1 else ('tie' if predicted_shown == 1 else 'no')} |"
            )


if __name__ == "__main__":
    main()
