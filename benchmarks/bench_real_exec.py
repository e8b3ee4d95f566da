"""Real-run speed on this machine: thread scaling, the compiled loop against its limit and
against an interpreted loop, per workload.

Run: ``python benchmarks/bench_real_exec.py [--seconds S] [--repeats R] [--workloads W,..]
[--algos A,..]``. Workloads (``--workloads``): ``logreg`` (softmax regression on digits, a
few microseconds per gradient), ``digits-mlp``, ``mlp-784`` (batch 32), ``fmnist-mlp``
(128x3 MLP on Fashion-MNIST, batch 16) and ``lenet`` (Fashion-MNIST, batch 16); the last two
need Fashion-MNIST (Debian's ``dataset-fashion-mnist``) and are skipped without it.

For each workload, every configuration runs once per repeat, interleaved (so all see the
same machine load); a row reports medians over the repeats, and ratios are medians of the
per-repeat ratios. Configurations:

* the limit: the bare gradient kernel in a compiled loop, one per thread, each on its own
  parameters (no SGD, no shared state, no records); and on one thread the kernel followed
  by its update ``x -= eta g`` (the least any SGD does per gradient);
* HOGWILD!'s limit: that kernel and update on 2 threads sharing one parameter vector (no
  clocks, versions or records): what the cores' caches leave of the scaling when every
  update writes the whole vector the other thread is reading;
* an interpreted HOGWILD! loop: the same algorithm with Python between the compiled
  kernels, as every worker ran before the loops were compiled (kept here only to measure
  what compiling removed);
* each algorithm's compiled loop (``asgd run``), 1 and 2 threads, recording its Trace, the
  loss monitor off (``sample_every`` beyond the run) so that only the workers use the cores.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Any

import numpy as np
from numba import njit
from threadpoolctl import threadpool_limits

from real_exec import RunConfig
from real_exec.executor.atomics import fetch_add, load
from real_exec.executor.data.errors import DataError
from real_exec.executor.kernels import axpy, seed_thread
from real_exec.executor.native import monotonic
from real_exec.executor.problems import Problem, make_problem, make_workload
from real_exec.executor.runner import run

WORKLOADS = {
    "logreg": lambda rng: make_workload("logreg", "digits", rng, batch=32),
    "digits-mlp": lambda rng: make_problem("digits-mlp", rng, batch=32),
    "mlp-784": lambda rng: make_problem("mlp-784", rng, batch=32),
    "fmnist-mlp": lambda rng: make_workload("mlp", "fashion-mnist", rng, batch=16, hidden=(128, 128, 128)),
    "lenet": lambda rng: make_workload("lenet", "fashion-mnist", rng, batch=16),
}


@njit(nogil=True)
def _bare(kernel: Any, data: Any, ws: Any, params: Any, grad: Any, seconds: float, update: bool) -> int:
    end = monotonic() + seconds
    n = 0
    while monotonic() < end:
        kernel(params, grad, data, ws)
        if update:
            axpy(params, -1e-12, grad)
        n += 1
    return n


def _threads(body: Any, threads: int) -> float:
    """Run ``body(i) -> gradients`` in ``threads`` threads; gradients per second."""
    counts = [0] * threads

    def target(i: int) -> None:
        counts[i] = body(i)

    with threadpool_limits(limits=1):
        workers = [threading.Thread(target=target, args=(i,)) for i in range(threads)]
        start = time.perf_counter()
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    return sum(counts) / (time.perf_counter() - start)


def bare_loop(
    problem: Problem, seconds: float, threads: int = 1, update: bool = False, shared: bool = False
) -> float:
    """Gradients/s of the bare kernel in a compiled loop per thread: the machine's ceiling;
    with ``update``, each gradient is also applied to the thread's parameters (an axpy), or,
    with ``shared``, to one vector all threads read and write."""
    common = problem.init(np.random.default_rng(0))

    def body(i: int) -> int:
        seed_thread(i + 1)
        params = common if shared else problem.init(np.random.default_rng(i))
        ws = problem.workspace()
        return _bare(problem.kernel, problem.data, ws, params, np.empty_like(params), seconds, update)

    return _threads(body, threads)


def interpreted_hogwild(problem: Problem, seconds: float) -> float:
    """Updates/s of one thread of HOGWILD! with Python between the kernels (claim, clocks,
    the gradient, the step, the update, the version, the row), as the loops ran before."""
    params = problem.init(np.random.default_rng(0))
    grad, counters = np.empty_like(params), np.zeros(2, dtype=np.int64)
    rows, scale = np.empty((1 << 15, 8)), np.ones(1 << 16)

    def body(i: int) -> int:
        seed_thread(1)
        end, n = time.perf_counter() + seconds, 0
        while time.perf_counter() < end:
            fetch_add(counters, 1, 1)
            t_read, read_version = time.perf_counter(), load(counters, 0)
            cpu = time.thread_time()
            problem.grad(params, grad)
            cpu = time.thread_time() - cpu
            t_done = time.perf_counter()
            step = 0.01 * scale[min(load(counters, 0) - read_version, scale.size - 1)]
            axpy(params, -step, grad)
            version = fetch_add(counters, 0, 1) + 1
            rows[n % rows.shape[0]] = (
                read_version,
                version,
                t_read,
                t_done,
                time.perf_counter(),
                1,
                step,
                cpu,
            )
            n += 1
        return n

    return _threads(body, 1)


def compiled(problem: Problem, algo: str, threads: int, seconds: float) -> float:
    config = RunConfig(algo, threads, eta=0.01, seconds=seconds, check_updates=False, sample_every=1e9)
    return float(run(config, problem).summary()["throughput"])


def measure(problem: Problem, algos: list[str], seconds: float, repeats: int) -> dict[str, list[float]]:
    configs: dict[str, Any] = {
        "bare 1": lambda: bare_loop(problem, seconds, 1),
        "bare 2": lambda: bare_loop(problem, seconds, 2),
        "bare+update 1": lambda: bare_loop(problem, seconds, 1, update=True),
        "shared+update 2": lambda: bare_loop(problem, seconds, 2, update=True, shared=True),
        "interpreted hogwild 1": lambda: interpreted_hogwild(problem, seconds),
    }
    for algo in algos:
        for m in (1, 2):
            configs[f"{algo} {m}"] = lambda a=algo, m=m: compiled(problem, a, m, seconds)
    rates: dict[str, list[float]] = {k: [] for k in configs}
    bare_loop(problem, 0.05, 1)  # compiles the bare loops for this kernel
    bare_loop(problem, 0.05, 1, update=True)
    for _ in range(repeats):
        for name, fn in configs.items():
            rates[name].append(fn())
    return rates


def paired(rates: dict[str, list[float]], a: str, b: str) -> float:
    return statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--algos", default="hogwild,leashed,lock,sync")
    args = parser.parse_args()
    algos = args.algos.split(",")
    results = {}
    for name in args.workloads.split(","):
        try:
            problem = WORKLOADS[name](np.random.default_rng(0))
        except DataError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        results[name] = measure(problem, algos, args.seconds, args.repeats)
        print(f"{name}: done", flush=True)
    print(f"\nMedians of {args.repeats} interleaved repeats of {args.seconds:g} s each.\n")
    print(
        "| workload | limit: bare kernel, us/gradient | interpreted loop, us/update "
        "| compiled HOGWILD!, us/update | removed, us/update | compiled / limit, 1 thread | bare 2/1 "
        "| shared vector 2/1 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        bare, interp, comp = (
            1e6 / statistics.median(r[k]) for k in ("bare 1", "interpreted hogwild 1", "hogwild 1")
        )
        print(
            f"| {name} | {bare:.2f} | {interp:.2f} | {comp:.2f} | {interp - comp:.2f} "
            f"| {paired(r, 'hogwild 1', 'bare 1'):.3f} | {paired(r, 'bare 2', 'bare 1'):.2f}x "
            f"| {paired(r, 'shared+update 2', 'bare+update 1'):.2f}x |"
        )
    print("\nUpdates/s, 1 -> 2 threads (median), and the paired 2/1 ratio:\n")
    print("| workload | " + " | ".join(algos) + " |")
    print("|---|" + "---|" * len(algos))
    for name, r in results.items():
        cells = [
            f"{statistics.median(r[f'{a} 1']):,.0f} -> {statistics.median(r[f'{a} 2']):,.0f} "
            f"(**{paired(r, f'{a} 2', f'{a} 1'):.2f}x**)"
            for a in algos
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for limit, label in (("bare 1", "the bare kernel"), ("bare+update 1", "the kernel and its update")):
        print(f"\nEvery algorithm's compiled loop against {label} in a compiled loop, 1 thread:\n")
        print("| workload | " + " | ".join(algos) + " |")
        print("|---|" + "---|" * len(algos))
        for name, r in results.items():
            print(f"| {name} | " + " | ".join(f"{paired(r, f'{a} 1', limit):.3f}" for a in algos) + " |")


if __name__ == "__main__":
    main()
