"""Simulator speed: SimPy engine throughput and the fast engine's speed-up.

Run: ``python benchmarks/bench_simulator.py [--updates N] [--repeats R] [--algos A,B]``. Each row is the
median of R runs; the SimPy and fast runs of a row alternate, so both see the same machine
load, and each starts after a garbage collection. The speed-up is the median of the R
paired ratios (each SimPy run over the fast run right after it), which a load spike on a
shared machine moves less than a ratio of medians. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

from staleness_sim import SimConfig, simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import parse_timing

CASES = [
    ("hogwild", 16, "expon:scale=1", "const:0"),
    ("hogwild", 16, "gamma:a=4,scale=0.25", "expon:scale=0.05"),
    ("sync", 16, "expon:scale=1", "const:0.05"),
    ("lock", 16, "expon:scale=1", "const:0.05"),
    ("leashed", 16, "expon:scale=1", "const:0.05"),
]


def timed(config: SimConfig, engine: str) -> float:
    gc.collect()  # neither engine pays for the other's garbage
    start = time.perf_counter()
    simulate(config, engine)  # type: ignore[arg-type]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--algos", default="hogwild,sync,lock,leashed", help="comma-separated subset")
    args = parser.parse_args()
    algos = args.algos.split(",")
    print(f"{args.updates} gradients per run, median of {args.repeats} runs\n")
    print(
        "| algo | workers | compute | publish | SimPy s | SimPy updates/s | fast s | fast / SimPy speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for algo, m, compute, publish in (case for case in CASES if case[0] in algos):
        profile = HardwareProfile(compute=parse_timing(compute), publish=parse_timing(publish))
        config = SimConfig(algo, m, profile, args.updates, seed=1)
        simpy_times, fast_times = [], []
        for _ in range(args.repeats):
            simpy_times.append(timed(config, "simpy"))
            if algo in ("hogwild", "sync"):
                fast_times.append(timed(config, "fast"))
        s = statistics.median(simpy_times)
        if fast_times:
            f = statistics.median(fast_times)
            ratio = statistics.median(a / b for a, b in zip(simpy_times, fast_times, strict=True))
            fast_cols = f"{f:.4f} | {ratio:.1f}x"
        else:
            fast_cols = "n/a | n/a"
        print(f"| {algo} | {m} | {compute} | {publish} | {s:.3f} | {args.updates / s:,.0f} | {fast_cols} |")


if __name__ == "__main__":
    main()
