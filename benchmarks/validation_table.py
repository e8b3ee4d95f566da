"""The simulator against real runs on this machine, 1..4 threads (the table of docs/validation.md).

Run: ``python benchmarks/validation_table.py [--seconds S] [--repeats R] [--threads 1,2,3,4]
[--workloads digits-logreg,digits-mlp,fmnist-mlp,lenet]``. For each workload, algorithm and
thread count, ``asgd validate`` is repeated R times (configurations interleaved); the table
gives the median TV, W1 and throughput ratio, the range of TV, and the median share of the
cores' time that the hypervisor took during the real runs ("stolen", on virtual machines)
and of the real runs' windows in which a thread ran at 1.5 times its mean rate or more
("swings", :func:`theory.analysis.rate_swings`: a thread that Linux gave a core to itself),
and in how many of the R runs ``asgd validate`` said the run was in a regime the model is
known not to fit (:meth:`real_exec.study.validate.Validation.regimes`, by name).
The workloads span gradients from microseconds (logistic regression on digits) to
milliseconds (LeNet on Fashion-MNIST, batch 16); without ``--workloads``, ``--problem``.

``--speeds "1,2;1,4;1,8"`` repeats every configuration with real slow workers (``asgd
validate --speeds``; ``1`` is none) and adds the speed factors the calibration recovered
without being told them; ``--algos`` chooses the algorithms (synchronous SGD and Rennala SGD
included; ``ringmaster`` is lock-based SGD with Ringmaster's ``R`` = the threads).
"""

from __future__ import annotations

import argparse
import collections
import math
import statistics

from real_exec.executor.problems import problem_from_options
from real_exec.study.validate import validate

ALGOS = ("lock", "hogwild", "leashed")

#: Workload name -> asgd run's workload options.
WORKLOADS = {
    "digits-logreg": {"model": "logreg", "dataset": "digits"},
    "digits-mlp": {"problem": "digits-mlp"},
    "fmnist-mlp": {"model": "mlp", "dataset": "fashion-mnist", "batch": 16},
    "lenet": {"model": "lenet", "dataset": "fashion-mnist", "batch": 16},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2,3,4")
    parser.add_argument("--problem", default="digits-mlp")
    parser.add_argument("--workloads", default=None, help=f"comma-separated, of {', '.join(WORKLOADS)}")
    parser.add_argument("--algos", default=",".join(ALGOS))
    parser.add_argument("--speeds", default="1", help='slow-worker settings, e.g. "1;1,4" (1: none)')
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    algos = args.algos.split(",")
    settings = [tuple(float(v) for v in s.split(",")) for s in args.speeds.split(";")]
    names = args.workloads.split(",") if args.workloads else [args.problem]
    problems = {n: problem_from_options(**WORKLOADS.get(n, {"problem": n}), seed=0) for n in names}
    results: dict[tuple[str, str, int, tuple[float, ...]], list[dict]] = {
        (w, a, t, s): [] for w in names for t in threads for s in settings for a in algos
    }
    for r in range(args.repeats):
        for key in results:
            w, algo, t, speeds = key
            ringmaster = algo == "ringmaster"
            v = validate(
                "lock" if ringmaster else algo,
                t,
                problems[w],
                args.seconds,
                seed=r,
                speeds=speeds,
                threshold=t if ringmaster else None,
            )
            results[key].append(v.summary())
    print(f"{', '.join(names)}; {args.seconds:g} s per run, median of {args.repeats} runs\n")
    print(
        "| workload | algo | threads | speeds | TV (median) | TV range | W1 | throughput real | sim/real | "
        "tau mean real | sim | CAS fail real | sim | dropped real | sim | stolen | swings real "
        "| speeds recovered (median) | model's notes |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (workload, algo, t, speeds), rows in results.items():
        med = {k: statistics.median(_get(x, k) for x in rows) for k in KEYS}
        tvs = [x["tv"] for x in rows]
        print(
            f"| {workload} | {algo} | {t} | {_factors(speeds)} | {med['tv']:.3f} | "
            f"{min(tvs):.3f}-{max(tvs):.3f} | "
            f"{med['w1']:.3f} | "
            f"{med['throughput.real']:.0f} | {med['throughput_ratio']:.3f} | {med['tau_mean.real']:.3f} | "
            f"{med['tau_mean.sim']:.3f} | {med['cas_failure_rate.real']:.2g} | "
            f"{med['cas_failure_rate.sim']:.2g} | {_percent(med['dropped_share.real'])} | "
            f"{_percent(med['dropped_share.sim'])} | {_percent(med['stolen'])} | "
            f"{_percent(med['rate_swings.real'])} | {_recovered(rows)} | {_regimes(rows)} |"
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
    "dropped_share.real",
    "dropped_share.sim",
    "stolen",
    "rate_swings.real",
)


def _get(row: dict, key: str) -> float:
    head, _, tail = key.partition(".")
    value = row[head][tail] if tail else row[head]
    return float("nan") if value is None else float(value)


def _factors(speeds: tuple[float, ...]) -> str:
    return ",".join(f"{v:g}" for v in speeds)


def _recovered(rows: list[dict]) -> str:
    """The calibrated per-thread speed factors, median over the repeats."""
    found = [
        statistics.median(r["speeds"]["recovered"][i] for r in rows)
        for i in range(len(rows[0]["speeds"]["recovered"]))
    ]
    return ", ".join(f"{v:.2f}" for v in found)


def _regimes(rows: list[dict]) -> str:
    """Each regime the model is known not to fit, and in how many of the runs it was noted."""
    seen = collections.Counter(name for r in rows for name in r["regimes"])
    return ", ".join(f"{name} {n}/{len(rows)}" for name, n in sorted(seen.items())) or "-"


def _percent(fraction: float) -> str:
    return "-" if math.isnan(fraction) else f"{100 * fraction:.1f}%"


if __name__ == "__main__":
    main()
