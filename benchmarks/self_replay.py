"""Replay real runs' own schedules: how many updates the replay's arithmetic needs to the target
against the real run, with the timing taken out (docs/prediction.md).

Run: ``python benchmarks/self_replay.py [--algos hogwild,lock] [--reps 6] [--seconds 7]
[--target 0.87] [--dataset fashion-mnist]``. Each repetition makes a real 2-thread run of
the MLP on ``--dataset`` (``digits`` where Debian's ``dataset-fashion-mnist`` is not
installed, with a target it reaches) for ``--seconds``, checking its test accuracy every
0.1 s, and replays the run's own Trace from the same initial parameters
(:func:`real_exec.study.predict.replay.replay`, its own minibatches). For lock-based SGD the
replay is the real arithmetic under that schedule, so the two counts differ by chance alone
(minibatch order, where the accuracy crosses the target); for HOGWILD! also by what the
replay leaves out (torn reads) and, with ``--lost-on-overlap``, what it models. Algorithms
alternate within each repetition.
"""

from __future__ import annotations

import argparse

import numpy as np

from real_exec.executor.config import RunConfig
from real_exec.executor.monitor import Target
from real_exec.executor.problems import problem_from_options
from real_exec.executor.runner import run
from real_exec.study.predict.lost_updates import overlapping_writes
from real_exec.study.predict.replay import replay


def _updates_to(result, target: Target) -> float:
    """Updates published by the first check of the run's curve that reached ``target``
    (NaN if none did)."""
    points = result.curve.to_dict("records")
    initial = points[0]["loss"]
    hit = next((p["time"] for p in points if target.reached(p, initial)), None)
    if hit is None:
        return float("nan")
    published = np.sort(result.trace.table["t_apply"].to_numpy())
    return float(np.searchsorted(published, hit, side="right"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--algos", default="hogwild,lock")
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=7.0)
    parser.add_argument("--target", type=float, default=0.87, help="test accuracy")
    parser.add_argument("--eta", type=float, default=0.05)
    parser.add_argument("--lost-on-overlap", type=float, default=0.0, help="HOGWILD! replays only")
    args = parser.parse_args()
    problem = problem_from_options(None, "mlp", args.dataset, seed=0)
    target = Target(accuracy=args.target)
    algos = args.algos.split(",")
    print(
        f"MLP on {args.dataset}, {args.threads} threads, target test accuracy {args.target:g}, "
        f"eta {args.eta:g}, {args.seconds:g}-s runs\n"
    )
    header = ("algo", "rep", "real updates to target", "replay updates", "replay / real", "lost share")
    print("| " + " | ".join(header) + " | writes overlapping |")
    print("|---|---|---|---|---|---|---|")
    ratios: dict[str, list[float]] = {a: [] for a in algos}
    for rep in range(args.reps):
        for algo in algos:
            hog = algo == "hogwild"
            config = RunConfig(
                algo,
                args.threads,
                args.eta,
                seconds=args.seconds,
                seed=200 + rep,
                check_updates=hog,
                sample_every=0.1,
            )
            real = run(config, problem)
            again = replay(
                real.trace,
                problem,
                args.eta,
                seed=200 + rep,
                target=target,
                evaluate_every=0.1,
                initial=real.initial,
                lost_on_overlap=args.lost_on_overlap if hog else 0.0,
            )
            real_n = _updates_to(real, target)
            replay_n = float(again.reached[1]) if again.reached else float("nan")
            ratios[algo].append(replay_n / real_n)
            share = f"{real.lost_update_share:.2%}" if hog and real.lost_update_share is not None else "-"
            overlap = f"{overlapping_writes(real.trace).mean():.0%}" if hog else "-"
            row = f"| {algo} | {rep} | {real_n:,.0f} | {replay_n:,.0f} | {replay_n / real_n:.2f} |"
            print(f"{row} {share} | {overlap} |", flush=True)
    for algo in algos:
        r = np.array(ratios[algo])
        print(
            f"\n{algo}: replay / real updates to the target, median {np.nanmedian(r):.2f}, range "
            f"{np.nanmin(r):.2f}-{np.nanmax(r):.2f} ({np.isfinite(r).sum()} of {r.size} reached both)"
        )


if __name__ == "__main__":
    main()
