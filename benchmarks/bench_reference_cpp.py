"""Updates per second against the authors' C++ (``dcs-chalmers/shared-memory-sgd``), same machine.

Run: ``python benchmarks/bench_reference_cpp.py --reference DIR [--repeats R] [--seconds S]``,
``DIR`` a checkout of the reference (its files without ``data/``). The benchmark builds it
the way its own scripts do (``cmake -DCMAKE_BUILD_TYPE=Debug .. && make`` in ``DIR/build``;
its CMakeLists adds ``-O3``) unless ``DIR/build/mininn`` exists, and gives it Fashion-MNIST
(the files ``find_files`` finds, e.g. Debian's ``dataset-fashion-mnist``, decompressed into
``DIR/data/fashion-mnist``).

Workloads, as in the papers: the 784-128-128-128-10 MLP and LeNet on Fashion-MNIST, batch 16,
float64 (the reference's ``Scalar``); algorithms lock-based (its ``ASYNC``), HOGWILD!
(``HOG``) and Leashed-SGD (``LSH``); 1 and 2 threads. Every configuration runs once per
repeat, interleaved, ours and the reference's side by side.

The reference prints epoch times in whole seconds and spends a second or more loading its
data, so its rate is taken from two runs of different lengths: ``(n_long - n_short) /
(t_long - t_short)`` over the process's wall time (the same start-up in both). Ours is the
run's throughput (``asgd run``'s, loss monitor off).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

from real_exec import RunConfig
from real_exec.executor.data.datasets import find_files
from real_exec.executor.problems import Problem, make_workload
from real_exec.executor.runner import run

ALGOS = {"lock": "ASYNC", "hogwild": "HOG", "leashed": "LSH"}
ARCHS = {"mlp": ["-A", "MLP", "-L", "3", "-U", "128"], "lenet": ["-A", "LENET"]}


def build(reference: Path) -> Path:
    binary = reference / "build" / "mininn"
    if not binary.exists():
        (reference / "build").mkdir(exist_ok=True)
        subprocess.run(["cmake", "-DCMAKE_BUILD_TYPE=Debug", ".."], cwd=reference / "build", check=True)
        subprocess.run(["make"], cwd=reference / "build", check=True)
    data = reference / "data" / "fashion-mnist"
    data.mkdir(parents=True, exist_ok=True)
    for path in find_files("fashion-mnist"):
        target = data / path.name.removesuffix(".gz")
        if not target.exists():
            with (
                gzip.open(path) if path.suffix == ".gz" else path.open("rb") as src,
                target.open("wb") as dst,
            ):
                shutil.copyfileobj(src, dst)
    return binary


def reference_seconds(binary: Path, arch: str, algo: str, threads: int, gradients: int) -> float:
    """Wall seconds of one reference process computing ``gradients`` gradients."""
    args = [str(binary), "-a", ALGOS[algo], "-n", str(threads), *ARCHS[arch], "-e", "1"]
    args += ["-r", str(gradients), "-b", "16", "-l", "0.005", "-D", "FASHION-MNIST"]
    start = time.perf_counter()
    subprocess.run(args, cwd=binary.parent.parent, check=True, capture_output=True)
    return time.perf_counter() - start


def reference_rate(
    binary: Path, arch: str, algo: str, threads: int, seconds: float, per_update: float
) -> float:
    """Updates/s from a short and a long run (``per_update``: a guess that sizes them)."""
    short, long = 20, max(500, int(seconds / per_update))
    t_short = reference_seconds(binary, arch, algo, threads, short)
    t_long = reference_seconds(binary, arch, algo, threads, long)
    return (long - short) / (t_long - t_short)


def ours(problem: Problem, algo: str, threads: int, seconds: float) -> float:
    config = RunConfig(algo, threads, eta=0.005, seconds=seconds, check_updates=False, sample_every=1e9)
    return float(run(config, problem).summary()["throughput"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--archs", default="mlp,lenet")
    args = parser.parse_args()
    binary = build(args.reference.resolve())
    rng = np.random.default_rng(0)
    problems = {
        "mlp": make_workload("mlp", "fashion-mnist", rng, batch=16, hidden=(128, 128, 128)),
        "lenet": make_workload("lenet", "fashion-mnist", rng, batch=16),
    }
    keys = [(a, algo, m) for a in args.archs.split(",") for algo in ALGOS for m in (1, 2)]
    rates: dict[tuple[str, str, int], tuple[list[float], list[float]]] = {k: ([], []) for k in keys}
    guess = {"mlp": 1.3e-3, "lenet": 3.7e-3}  # seconds per update of one reference thread, seen here
    for r in range(args.repeats):
        for key in keys:
            arch, algo, m = key
            mine = ours(problems[arch], algo, m, args.seconds)
            theirs = reference_rate(binary, arch, algo, m, args.seconds, guess[arch] / m)
            rates[key][0].append(mine)
            rates[key][1].append(theirs)
        print(f"repeat {r + 1} of {args.repeats} done", flush=True)
    print(f"\nMedians of {args.repeats} interleaved repeats; ours {args.seconds:g} s per run.\n")
    print(
        "| workload | algo | threads | ours, updates/s | reference, updates/s "
        "| ours / reference (paired) | range |"
    )
    print("|---|---|---|---|---|---|---|")
    for (arch, algo, m), (mine, theirs) in rates.items():
        ratios = [a / b for a, b in zip(mine, theirs, strict=True)]
        print(
            f"| {arch} | {algo} | {m} | {statistics.median(mine):,.0f} | {statistics.median(theirs):,.0f} | "
            f"{statistics.median(ratios):.2f}x | {min(ratios):.2f}-{max(ratios):.2f}x |"
        )


if __name__ == "__main__":
    main()
