"""Real-run speed on this machine: thread scaling, instrumentation cost, bare-kernel parity.

Run: ``python benchmarks/bench_real_exec.py [--seconds S] [--repeats R] [--dtype D]``.
Configurations are interleaved within each repeat (so all see the same machine load) and
each row reports the median updates/s over the repeats. The loss monitor is off
(``sample_every`` beyond the run) so that only the workers use the cores.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np
from threadpoolctl import threadpool_limits

from real_exec.context import RunConfig
from real_exec.kernels import seed_thread
from real_exec.problems import make_problem
from real_exec.runner import run


def bare_loop(problem, seconds: float) -> float:  # type: ignore[no-untyped-def]
    """Gradients/s of a plain loop calling the numba gradient in one thread (no SGD, no records)."""
    params = problem.init(np.random.default_rng(0))
    grad = np.empty_like(params)
    count = [0]

    def body() -> None:
        seed_thread(1)
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            problem.grad(params, grad)
            count[0] += 1

    with threadpool_limits(limits=1):
        t = threading.Thread(target=body)
        start = time.perf_counter()
        t.start()
        t.join()
    return count[0] / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--problem", default="mlp-784")
    args = parser.parse_args()
    problem = make_problem(args.problem, np.random.default_rng(0), batch=32, dtype=args.dtype)
    configs = {
        "bare numba gradient loop, 1 thread": None,
        "hogwild 1 thread": ("hogwild", 1, True),
        "hogwild 2 threads": ("hogwild", 2, True),
        "hogwild 1 thread, no recording": ("hogwild", 1, False),
        "leashed 1 thread": ("leashed", 1, True),
        "leashed 2 threads": ("leashed", 2, True),
        "lock 1 thread": ("lock", 1, True),
        "lock 2 threads": ("lock", 2, True),
    }
    rates: dict[str, list[float]] = {k: [] for k in configs}
    for _ in range(args.repeats):
        for name, cfg in configs.items():
            if cfg is None:
                rates[name].append(bare_loop(problem, args.seconds))
                continue
            algo, threads, record = cfg
            config = RunConfig(
                algo,
                threads,
                eta=0.01,
                seconds=args.seconds,
                check_updates=False,
                record=record,
                sample_every=1e9,
            )
            rates[name].append(run(config, problem).summary()["updates_per_s"])
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"{args.problem}, batch 32, {args.dtype}; median of {args.repeats} runs of {args.seconds:g} s\n")
    print("| configuration | updates/s (median) | min | max |")
    print("|---|---|---|---|")
    for k, v in rates.items():
        print(f"| {k} | {med[k]:,.0f} | {min(v):,.0f} | {max(v):,.0f} |")
    print("\n| ratio | value |")
    print("|---|---|")
    print(f"| hogwild 2 / 1 threads | {med['hogwild 2 threads'] / med['hogwild 1 thread']:.2f}x |")
    print(f"| leashed 2 / 1 threads | {med['leashed 2 threads'] / med['leashed 1 thread']:.2f}x |")
    print(f"| lock 2 / 1 threads | {med['lock 2 threads'] / med['lock 1 thread']:.2f}x |")
    overhead = med["hogwild 1 thread, no recording"] / med["hogwild 1 thread"] - 1
    print(f"| recording overhead (hogwild, 1 thread) | {100 * overhead:.1f}% |")
    bare = med["bare numba gradient loop, 1 thread"] / med["hogwild 1 thread"]
    print(f"| time per update, hogwild 1 thread / bare loop | {bare:.2f}x |")


if __name__ == "__main__":
    main()
