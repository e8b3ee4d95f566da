"""Simulator speed and memory: the SimPy engine against the fast engine, up to 10^7 updates.

Run: ``python benchmarks/bench_simulator.py [--updates 100000,1000000] [--workers 16,64]
[--repeats R] [--algos A,B] [--long 10000000]``; besides the algorithms, ``ringmaster`` is
lock-based SGD with Ringmaster's threshold ``R`` = the workers, and ``ringmaster-stop`` its
stopping variant (``--abandon``). Every run goes through ``simulate``, the
path a user takes. Each row is the median of R runs; the SimPy and fast runs of a row
alternate, so both see the same machine load, and each starts after a garbage collection.
The speed-up is the median of the R paired ratios (each SimPy run over the fast run right
after it), which a load spike on a shared machine moves less than a ratio of medians.
Memory is measured in a separate, untimed fast run with ``tracemalloc`` (the numpy arrays
the run allocates; the compiled loops allocate nothing of their own): the peak, and the
peak beyond the Trace's own table, per update. The ``--long`` row runs Leashed-SGD with the
largest worker count and no Trace (``keep_trace=False``, the CLI's ``--no-trace``), fast
engine only. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc

from staleness_sim import SimConfig, simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import parse_timing

#: The timing of every row: gamma compute (mean 1, CV 0.5), exponential publish (mean 0.01).
COMPUTE, PUBLISH = "gamma:a=4,scale=0.25", "expon:scale=0.01"


def make_config(algo: str, workers: int, profile: HardwareProfile, gradients: int) -> SimConfig:
    """An algorithm, or Ringmaster ASGD (``R`` = the workers) with or without stopping."""
    if algo.startswith("ringmaster"):
        stop = algo == "ringmaster-stop"
        return SimConfig("lock", workers, profile, gradients, 1, threshold=workers, abandon=stop)
    return SimConfig(algo, workers, profile, gradients, 1)


def timed(config: SimConfig, engine: str, keep_trace: bool = True) -> float:
    gc.collect()  # neither engine pays for the other's garbage
    start = time.perf_counter()
    simulate(config, engine, keep_trace=keep_trace)
    return time.perf_counter() - start


def memory(config: SimConfig, keep_trace: bool = True) -> tuple[float, float]:
    """Peak MiB of a fast run, and its bytes per update beyond the Trace's table."""
    gc.collect()
    tracemalloc.start()
    result = simulate(config, "fast", keep_trace=keep_trace)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    table = int(result.trace.table.memory_usage(deep=True).sum()) if keep_trace else 0
    return peak / 2**20, (peak - table) / config.gradients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", default="100000,1000000", help="comma-separated run lengths")
    parser.add_argument("--workers", default="16,64", help="comma-separated worker counts")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--algos", default="hogwild,sync,lock,leashed", help="comma-separated subset")
    parser.add_argument("--long", type=int, default=10_000_000, help="the no-Trace Leashed-SGD row (0: none)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.updates.split(",")]
    workers = [int(x) for x in args.workers.split(",")]
    profile = HardwareProfile(compute=parse_timing(COMPUTE), publish=parse_timing(PUBLISH))
    for algo in args.algos.split(","):  # compile (or load the compiled code) before timing
        simulate(make_config(algo, 4, profile, 1000), "fast")
    print(f"compute {COMPUTE}, publish {PUBLISH}; median of {args.repeats} runs\n")
    print(
        "| algo | workers | gradients | SimPy s | SimPy updates/s | fast s | fast updates/s "
        "| speed-up (paired) | fast peak MiB | bytes/update beyond the Trace |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for m in workers:
            for algo in args.algos.split(","):
                config = make_config(algo, m, profile, n)
                simpy_times, fast_times = [], []
                for _ in range(args.repeats):
                    simpy_times.append(timed(config, "simpy"))
                    fast_times.append(timed(config, "fast"))
                s, f = statistics.median(simpy_times), statistics.median(fast_times)
                ratio = statistics.median(a / b for a, b in zip(simpy_times, fast_times, strict=True))
                peak, beyond = memory(config)
                print(
                    f"| {algo} | {m} | {n:,} | {s:.3f} | {n / s:,.0f} | {f:.4f} | {n / f:,.0f} "
                    f"| {ratio:.0f}x | {peak:,.0f} | {beyond:.0f} |",
                    flush=True,
                )
    if args.long:
        m = max(workers)
        config = SimConfig("leashed", m, profile, args.long, seed=1)
        times = [timed(config, "fast", keep_trace=False) for _ in range(args.repeats)]
        f = statistics.median(times)
        peak, beyond = memory(config, keep_trace=False)
        print(
            f"| leashed, no Trace | {m} | {args.long:,} | n/a | n/a | {f:.2f} | {args.long / f:,.0f} | n/a "
            f"| {peak:,.0f} | {beyond:.0f} |"
        )


if __name__ == "__main__":
    main()
