"""Simulator speed and memory: the SimPy engine against the fast engine, up to 10^7 updates.

Run: ``python benchmarks/bench_simulator.py [--updates 100000,1000000] [--workers 16,64]
[--repeats R] [--algos A,B] [--long 10000000] [--fresh-memory]``; besides the algorithms, ``ringmaster`` is
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
engine only. Prints a Markdown table, with the fast runs' minor page faults per update
(memory the kernel had to give the process).

A run's arrays come from the C library's heap where an earlier run freed memory of that size
(glibc: arrays below its mmap threshold, which grows up to 32 MiB with what was freed) and
from fresh pages otherwise, which the kernel zeroes and maps at each first touch; so by
default short runs reuse memory and long ones do not. ``--fresh-memory`` fixes glibc's mmap
threshold at 128 KiB, so that every large array of every run is fresh and runs of every
length pay the same per byte (glibc only).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import resource
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


def timed(config: SimConfig, engine: str, keep_trace: bool = True) -> tuple[float, int]:
    """Seconds of one run, and its minor page faults."""
    gc.collect()  # neither engine pays for the other's garbage
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    simulate(config, engine, keep_trace=keep_trace)
    seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults


def fresh_memory() -> None:
    """Every array of 128 KiB or more on fresh pages from now on (glibc's ``mallopt``)."""
    m_mmap_threshold = -3  # glibc's malloc.h; setting it also stops its dynamic growth
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError as error:
        raise SystemExit(f"--fresh-memory needs glibc ({error})") from None
    if libc.mallopt(m_mmap_threshold, 128 * 1024) != 1:
        raise SystemExit("--fresh-memory: glibc refused the mmap threshold")


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
    parser.add_argument("--fresh-memory", action="store_true", help="every large array on fresh pages")
    args = parser.parse_args()
    if args.fresh_memory:
        fresh_memory()
    sizes = [int(x) for x in args.updates.split(",")]
    workers = [int(x) for x in args.workers.split(",")]
    profile = HardwareProfile(compute=parse_timing(COMPUTE), publish=parse_timing(PUBLISH))
    for algo in args.algos.split(","):  # compile (or load the compiled code) before timing
        simulate(make_config(algo, 4, profile, 1000), "fast")
    memory_note = "fresh memory for every array" if args.fresh_memory else "the heap reused as glibc does"
    print(f"compute {COMPUTE}, publish {PUBLISH}; median of {args.repeats} runs; {memory_note}\n")
    print(
        "| algo | workers | gradients | SimPy s | SimPy updates/s | fast s | fast updates/s "
        "| speed-up (paired) | fast ns/update | fast page faults/update | fast peak MiB "
        "| bytes/update beyond the Trace |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for m in workers:
            for algo in args.algos.split(","):
                config = make_config(algo, m, profile, n)
                simpy_times, fast_times, faults = [], [], []
                for _ in range(args.repeats):
                    simpy_times.append(timed(config, "simpy")[0])
                    seconds, faulted = timed(config, "fast")
                    fast_times.append(seconds)
                    faults.append(faulted)
                s, f = statistics.median(simpy_times), statistics.median(fast_times)
                ratio = statistics.median(a / b for a, b in zip(simpy_times, fast_times, strict=True))
                peak, beyond = memory(config)
                print(
                    f"| {algo} | {m} | {n:,} | {s:.3f} | {n / s:,.0f} | {f:.4f} | {n / f:,.0f} "
                    f"| {ratio:.0f}x | {1e9 * f / n:.0f} | {statistics.median(faults) / n:.4f} "
                    f"| {peak:,.0f} | {beyond:.0f} |",
                    flush=True,
                )
    if args.long:
        m = max(workers)
        config = SimConfig("leashed", m, profile, args.long, seed=1)
        times = [timed(config, "fast", keep_trace=False)[0] for _ in range(args.repeats)]
        f = statistics.median(times)
        peak, beyond = memory(config, keep_trace=False)
        print(
            f"| leashed, no Trace | {m} | {args.long:,} | n/a | n/a | {f:.2f} | {args.long / f:,.0f} | n/a "
            f"| {1e9 * f / args.long:.0f} | n/a | {peak:,.0f} | {beyond:.0f} |"
        )


if __name__ == "__main__":
    main()
