"""The lock's calibrated hand-off against the probe that times it directly (docs/validation.md).

Run: ``python benchmarks/lock_handoff.py [--workloads digits-logreg,digits-mlp,fmnist-mlp]
[--repeats 5] [--seconds 2]``. Per workload and repetition: a real lock-based run of 2 threads
(the loss curve evaluated only before and after, as ``asgd validate`` runs), its calibrated
``lock_handoff`` (inferred from the publishes that waited for the lock,
``real_exec.study.lock_wakeup.lock_handoff``) and, right after it, the probe
(``real_exec.study.lock_wakeup.measure_lock_handoff``) with the lock held as long as the
calibrated publish, and held 10 us and 1 ms (how long a waiter's core has idled can decide
how long it takes to wake). Medians over the repetitions, ranges in brackets.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from validation_table import WORKLOADS

from real_exec.executor.config import RunConfig
from real_exec.executor.problems import problem_from_options
from real_exec.executor.runner import run
from real_exec.study.calibrate import calibrate_run
from real_exec.study.lock_wakeup import measure_lock_handoff

#: Fixed holds of the probe besides the calibrated publish (seconds).
FIXED_HOLDS = (1e-5, 1e-3)


def _us(values: list[float]) -> str:
    """Median and range in microseconds."""
    v = np.asarray(values) * 1e6
    return f"{np.median(v):.1f} ({v.min():.1f}-{v.max():.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workloads", default="digits-logreg,digits-mlp,fmnist-mlp")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--probe-seconds", type=float, default=0.3, help="seconds per probe")
    args = parser.parse_args()
    names = args.workloads.split(",")
    problems = {n: problem_from_options(**WORKLOADS[n], seed=0) for n in names}
    rows: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    for rep in range(args.repeats):
        for name in names:
            config = RunConfig("lock", 2, 0.05, seconds=args.seconds, seed=rep, sample_every=math.inf)
            real = run(config, problems[name])
            profile = calibrate_run(real)
            publish = float(profile.publish.mean())
            row = rows[name]
            row.setdefault("publish", []).append(publish)
            row.setdefault("calibrated", []).append(profile.lock_handoff)
            row.setdefault("probe", []).append(measure_lock_handoff(publish, args.probe_seconds))
            for hold in FIXED_HOLDS:
                row.setdefault(hold, []).append(measure_lock_handoff(hold, args.probe_seconds))
        print(f"repetition {rep + 1} of {args.repeats} done", flush=True)
    print(f"\nlock-based SGD, 2 threads, {args.seconds:g}-s runs, {args.repeats} repetitions (us)\n")
    fixed = " | ".join(f"probe, held {h * 1e6:g} us" for h in FIXED_HOLDS)
    head = "| workload | publish | calibrated hand-off | probe, held a publish | calibrated / probe"
    print(f"{head} | {fixed} |")
    print("|---|---|---|---|---|" + "---|" * len(FIXED_HOLDS))
    for name, row in rows.items():
        ratio = np.median(np.asarray(row["calibrated"]) / np.asarray(row["probe"]))
        others = " | ".join(_us(row[h]) for h in FIXED_HOLDS)
        print(
            f"| {name} | {_us(row['publish'])} | {_us(row['calibrated'])} | {_us(row['probe'])} | "
            f"{ratio:.2f} | {others} |"
        )


if __name__ == "__main__":
    main()
