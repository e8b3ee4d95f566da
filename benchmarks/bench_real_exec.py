"""Real-run speed on this machine: thread scaling, instrumentation cost, bare-kernel parity.

Run: ``python benchmarks/bench_real_exec.py [--seconds S] [--repeats R] [--dtype D] [--only W,..]
[--problem P | --model M --dataset D] [--batch B]`` (e.g. ``--model lenet --dataset fashion-mnist
--batch 16``).
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

from real_exec import RunConfig
from real_exec.kernels import seed_thread
from real_exec.problems import make_problem, make_workload
from real_exec.recorder import Recorder
from real_exec.runner import run


def bare_loop(problem, seconds: float, threads: int = 1) -> float:  # type: ignore[no-untyped-def]
    """Gradients/s of plain loops calling the numba gradient, one per thread, each on its own
    parameters (no SGD, no shared state, no records): the machine's ceiling for this kernel."""
    counts = [0] * threads

    def body(i: int) -> None:
        seed_thread(i + 1)
        params = problem.init(np.random.default_rng(i))
        grad = np.empty_like(params)
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            problem.grad(params, grad)
            counts[i] += 1

    with threadpool_limits(limits=1):
        workers = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
        start = time.perf_counter()
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    return sum(counts) / (time.perf_counter() - start)


def instrumentation_us(calls: int = 200_000) -> float:
    """Microseconds per update of everything recording adds to a HOGWILD! update: three clock
    reads, the thread CPU time around the gradient, and storing the row."""
    rec = Recorder(0)
    start = time.perf_counter()
    for i in range(calls):
        t_read = time.perf_counter()
        cpu = time.thread_time()
        cpu = time.thread_time() - cpu
        t_done = time.perf_counter()
        rec.add(i, i + 1, t_read, t_done, time.perf_counter(), 1, 0.01, cpu)
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--problem", default="mlp-784")
    parser.add_argument("--model", default=None, help="a workload's model (then --dataset too)")
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--only", default="", help="comma-separated words: keep configurations naming one")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    if args.model is not None:
        problem = make_workload(args.model, args.dataset, rng, batch=args.batch, dtype=args.dtype)
    else:
        problem = make_problem(args.problem, rng, batch=args.batch, dtype=args.dtype)
    configs = {
        "bare numba gradient loop, 1 thread": 1,
        "bare numba gradient loops, 2 threads": 2,
        "hogwild 1 thread": ("hogwild", 1, True),
        "hogwild 2 threads": ("hogwild", 2, True),
        "hogwild 1 thread, no recording": ("hogwild", 1, False),
        "leashed 1 thread": ("leashed", 1, True),
        "leashed 2 threads": ("leashed", 2, True),
        "lock 1 thread": ("lock", 1, True),
        "lock 2 threads": ("lock", 2, True),
    }
    if args.only:
        keep = args.only.split(",")
        configs = {k: v for k, v in configs.items() if any(word in k for word in keep)}
    rates: dict[str, list[float]] = {k: [] for k in configs}
    for _ in range(args.repeats):
        for name, cfg in configs.items():
            if isinstance(cfg, int):
                rates[name].append(bare_loop(problem, args.seconds, cfg))
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
            rates[name].append(run(config, problem).summary()["throughput"])
    med = {k: statistics.median(v) for k, v in rates.items()}
    runs = f"median of {args.repeats} runs of {args.seconds:g} s"
    print(f"{problem.name}, batch {args.batch}, {args.dtype}; {runs}\n")
    print("| configuration | updates/s (median) | min | max |")
    print("|---|---|---|---|")
    for k, v in rates.items():
        print(f"| {k} | {med[k]:,.0f} | {min(v):,.0f} | {max(v):,.0f} |")

    def ratio(a: str, b: str) -> str:
        # median of the per-repeat ratios (both runs of a repeat saw about the same load),
        # and the ratio of the medians
        paired = statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))
        return f"{paired:.2f}x | {med[a] / med[b]:.2f}x"

    rows = [
        (
            "bare loops 2 / 1 threads (machine ceiling)",
            "bare numba gradient loops, 2 threads",
            "bare numba gradient loop, 1 thread",
        ),
        ("hogwild 2 / 1 threads", "hogwild 2 threads", "hogwild 1 thread"),
        ("leashed 2 / 1 threads", "leashed 2 threads", "leashed 1 thread"),
        ("lock 2 / 1 threads", "lock 2 threads", "lock 1 thread"),
        ("hogwild 1 thread without / with recording", "hogwild 1 thread, no recording", "hogwild 1 thread"),
        (
            "bare loop / hogwild, 1 thread (time per update)",
            "bare numba gradient loop, 1 thread",
            "hogwild 1 thread",
        ),
    ]
    if "hogwild 1 thread" in med:
        cost = instrumentation_us()
        share = cost * 1e-6 * med["hogwild 1 thread"]
        print(f"\nInstrumentation per update, timed directly: {cost:.2f} us = {100 * share:.2f}% of a")
        print("HOGWILD! update on 1 thread (the with/without-recording ratio below is within run noise).")
    print("\n| ratio | median of paired ratios | ratio of medians |")
    print("|---|---|---|")
    for label, a, b in rows:
        if a in rates and b in rates:
            print(f"| {label} | {ratio(a, b)} |")


if __name__ == "__main__":
    main()
