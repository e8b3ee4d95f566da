"""The simulator against real runs on this machine, 1..4 threads (the table of docs/validation.md).

Run: ``python benchmarks/validation_table.py [--seconds S] [--repeats R] [--threads 1,2,3,4]``.
For each algorithm and thread count, ``asgd validate`` is repeated R times (configurations
interleaved); the table gives the median TV, W1 and throughput ratio, the range of TV, and the
median share of the cores' time that the hypervisor took during the real runs ("stolen", on
virtual machines).
"""

from __future__ import annotations

import argparse
import math
import statistics

from real_exec.study.validate import validate

ALGOS = ("lock", "hogwild", "leashed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2,3,4")
    parser.add_argument("--problem", default="digits-mlp")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    results: dict[tuple[str, int], list[dict]] = {(a, t): [] for t in threads for a in ALGOS}
    for r in range(args.repeats):
        for key in results:
            results[key].append(validate(key[0], key[1], args.problem, args.seconds, seed=r).summary())
    print(f"{args.problem}, {args.seconds:g} s per run, median of {args.repeats} runs\n")
    print(
        "| algo | threads | TV (median) | TV range | W1 | throughput real | sim/real | tau mean real | sim | "
        "CAS fail real | sim | stolen |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (algo, t), rows in results.items():
        med = {k: statistics.median(_get(x, k) for x in rows) for k in KEYS}
        tvs = [x["tv"] for x in rows]
        print(
            f"| {algo} | {t} | {med['tv']:.3f} | {min(tvs):.3f}-{max(tvs):.3f} | {med['w1']:.3f} | "
            f"{med['throughput.real']:.0f} | {med['throughput_ratio']:.3f} | {med['tau_mean.real']:.3f} | "
            f"{med['tau_mean.sim']:.3f} | {med['cas_failure_rate.real']:.2g} | "
            f"{med['cas_failure_rate.sim']:.2g} | {_percent(med['stolen'])} |"
        )


KEYS = (
    "tv",
    "w1",
    "throughput.real",
    "throughput_ratio",
    "tau_mean.real",
    "tau_mean.sim",
    "cas_failure_rate.real",
    "cas_failure_rate.sim",
    "stolen",
)


def _get(row: dict, key: str) -> float:
    head, _, tail = key.partition(".")
    value = row[head][tail] if tail else row[head]
    return float("nan") if value is None else float(value)


def _percent(fraction: float) -> str:
    return "-" if math.isnan(fraction) else f"{100 * fraction:.1f}%"


if __name__ == "__main__":
    main()
