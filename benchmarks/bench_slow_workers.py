"""Real slow workers (``asgd run --speeds``): what a factor does, and what factor 1 costs.

Run: ``python benchmarks/bench_slow_workers.py [--seconds 2] [--repeats 3]``. For each
algorithm and workload, interleaved 2-thread runs: without the option, with ``--speeds 1,1``
(the throughput ratio of the two: factor 1 should cost nothing), and with ``--speeds 1,4`` in
both modes (``spin``, ``sleep``): the slow thread's gradients per second over the fast one's
(a quarter for the asynchronous algorithms; synchronous SGD's threads take turns, one
gradient each per round) and its mean gradient time over the fast one's (4), with the rate
ratio that the gradient alone would give: the fast thread's cycle over the same cycle with
the slow thread's gradient phase (the reads and publishes are not slowed, so a worker whose
publish is long against its gradient stays above a quarter). Medians over the repeats.
"""

from __future__ import annotations

import argparse

import numpy as np

from real_exec.executor.config import RunConfig
from real_exec.executor.problems import problem_from_options
from real_exec.executor.runner import run

ALGOS = ("lock", "hogwild", "leashed", "sync")
WORKLOADS = {
    "digits-mlp": ("digits-mlp", None, None, 32),
    "fmnist-mlp b16": (None, "mlp", "fashion-mnist", 16),
}


def _per_thread(result) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """(slow/fast gradients per second, slow/fast mean gradient phase, the rate ratio if only
    the gradient phase differed) of a 2-thread run."""
    table = result.trace.table.sort_values("t_read")
    counts = table.groupby("worker").size()
    phase = (table["t_grad_done"] - table["t_read"]).groupby(table["worker"]).mean()
    cycle = table.groupby("worker")["t_read"].apply(lambda t: float(np.diff(t.to_numpy()).mean()))
    gradient_only = cycle[0] / (cycle[0] - phase[0] + phase[1])
    return float(counts[1] / counts[0]), float(phase[1] / phase[0]), float(gradient_only)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"2 threads, {args.seconds:g} s runs, median of {args.repeats} interleaved repeats\n")
    print(
        "| workload | algo | throughput --speeds 1,1 / none | spin 1,4: slow/fast gradients/s "
        "| spin: slow/fast gradient time | spin: gradients/s if only the gradient is slower "
        "| sleep 1,4: slow/fast gradients/s "
        "| sleep: slow/fast gradient time |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, (problem_name, model, dataset, batch) in WORKLOADS.items():
        problem = problem_from_options(problem_name, model, dataset, seed=0, batch=batch)
        for algo in ALGOS:
            ratio, spin, sleep = [], [], []
            for rep in range(args.repeats):
                runs = {}
                for key, speeds in (("none", None), ("ones", (1, 1))):
                    extra = {} if speeds is None else {"speeds": speeds}
                    config = RunConfig(
                        algo, 2, 0.05, seconds=args.seconds, seed=rep, check_updates=False, **extra
                    )
                    runs[key] = run(config, problem)
                ratio.append(runs["ones"].summary()["throughput"] / runs["none"].summary()["throughput"])
                for mode, out in (("spin", spin), ("sleep", sleep)):
                    config = RunConfig(
                        algo, 2, 0.05, seconds=args.seconds, seed=rep, check_updates=False, speeds=(1, 4),
                        slow_mode=mode,
                    )  # fmt: skip
                    out.append(_per_thread(run(config, problem)))
            s, z = np.median(spin, axis=0), np.median(sleep, axis=0)
            print(
                f"| {name} | {algo} | {np.median(ratio):.3f} ({min(ratio):.3f}-{max(ratio):.3f}) | "
                f"{s[0]:.3f} | {s[1]:.2f} | {s[2]:.3f} | {z[0]:.3f} | {z[1]:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
