"""Leashed-SGD's publish attempts by where they build, and what modelling them does to the
validation (2 threads, a core each).

Run: ``python benchmarks/publish_attempts.py [--workloads digits-logreg,digits-mlp,fmnist-mlp,lenet]
[--speeds "1;1,2;1,4"] [--repeats 3] [--seconds 2]``. Real runs interleaved over the
workloads and speeds; each one is calibrated once and simulated twice from the same profile:
with its publish attempts by kind (``publish_cached``, ``publish``, ``publish_retry``,
:mod:`real_exec.study.publish_attempts`) and with one timing for every attempt (``publish``
from all attempts, as before they were modelled). The table gives the real run's median
attempt of each kind, both simulations' staleness TV against the real run, and their CAS
failure rates; markdown, one row per run.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace

import numpy as np
from validation_table import WORKLOADS

from real_exec.executor.config import RunConfig
from real_exec.executor.problems import problem_from_options
from real_exec.executor.runner import run
from real_exec.study.calibrate import calibrate_run
from real_exec.study.publish_attempts import attempt_phases, per_attempt
from staleness_sim.config import SimConfig
from staleness_sim.engines import simulate
from staleness_sim.timing import EmpiricalTiming
from theory.compare import compare_traces


def _us(samples: np.ndarray | None) -> str:
    return "-" if samples is None else f"{1e6 * float(np.median(samples)):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="digits-logreg,digits-mlp,fmnist-mlp,lenet")
    parser.add_argument("--speeds", default="1", help='";"-separated lists, e.g. "1;1,2;1,4"')
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    names = args.workloads.split(",")
    problems = {n: problem_from_options(**WORKLOADS.get(n, {"problem": n}), seed=0) for n in names}
    speeds = [tuple(float(v) for v in s.split(",")) for s in args.speeds.split(";")]
    print(
        "| workload | speeds | seed | attempt on the version read, us | on a newer one | "
        "each retry | TV by kind | TV one timing | CAS fail real | sim by kind | sim one timing |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for seed in range(args.repeats):
        for name in names:
            for sp in speeds:
                config = RunConfig(
                    "leashed", 2, 0.05, seconds=args.seconds, seed=seed, check_updates=False,
                    sample_every=math.inf, speeds=sp,
                )  # fmt: skip
                real = run(config, problems[name])
                table = real.trace.table
                phases = attempt_phases(table)
                profile = calibrate_run(real, cores=2)
                one = replace(
                    profile,
                    publish=EmpiricalTiming(per_attempt(table)),
                    publish_cached=None,
                    publish_retry=None,
                )
                cells = []
                for p in (profile, one):
                    sim = simulate(SimConfig("leashed", 2, p, len(real.trace), seed=2)).trace
                    cells.append(compare_traces(real.trace, sim))
                by_kind, single = cells
                print(
                    f"| {name} | {','.join(f'{v:g}' for v in sp)} | {seed} | {_us(phases.cached)} | "
                    f"{_us(phases.fresh)} | {_us(phases.retry)} | {by_kind.tv:.3f} | {single.tv:.3f} | "
                    f"{by_kind.cas_failure_rate['a']:.3f} | {by_kind.cas_failure_rate['b']:.3f} | "
                    f"{single.cas_failure_rate['b']:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
