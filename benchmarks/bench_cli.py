"""Start-up time of the ``asgd`` command line, whole process, as a user sees it.

Run: ``python benchmarks/bench_cli.py [--repeats R]``. Each command runs R times in a fresh
process (``sys.executable -m real_exec``, the same code as the ``asgd`` script); the
commands take turns, so a load spike on a shared machine hits them alike. Each row is the
median of the R wall-clock times; the targets are those of the architecture's goals
(``asgd --help`` <= 0.5 s, a step-size rule <= 1.5 s). A Python that only starts and exits
is timed alongside, as the floor. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES: list[tuple[str, list[str], float | None]] = [
    ("python -c pass (floor)", ["-c", "pass"], None),
    ("asgd --help", ["-m", "real_exec", "--help"], 0.5),
    ("asgd --version", ["-m", "real_exec", "--version"], None),
    (
        "asgd stepsize tail --pmf poisson:7 --json",
        ["-m", "real_exec", "stepsize", "tail", "--pmf", "poisson:7", "--json"],
        1.5,
    ),
    ("asgd simulate --help", ["-m", "real_exec", "simulate", "--help"], None),
    (
        "asgd bound nonconvex ... --json",
        [
            "-m",
            "real_exec",
            "bound",
            "nonconvex",
            "--L",
            "1",
            "--sigma2",
            "1",
            "--f0",
            "10",
            "--tau-max",
            "8",
            "--epsilon",
            "0.1",
            "--json",
        ],
        None,
    ),
]


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for _, argv, _ in CASES:  # warm the file cache and numba's on-disk cache once
        timed(argv)
    times: dict[str, list[float]] = {name: [] for name, _, _ in CASES}
    for _ in range(args.repeats):
        for name, argv, _ in CASES:
            times[name].append(timed(argv))
    print(f"Whole-process wall time, median of {args.repeats} interleaved runs")
    print("| command | median s | min s | max s | target | met |")
    print("|---|---|---|---|---|---|")
    for name, _, target in CASES:
        t = times[name]
        goal = f"<= {target:g} s" if target is not None else ""
        met = ("yes" if statistics.median(t) <= target else "NO") if target is not None else ""
        print(f"| {name} | {statistics.median(t):.3f} | {min(t):.3f} | {max(t):.3f} | {goal} | {met} |")


if __name__ == "__main__":
    main()
