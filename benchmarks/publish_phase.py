"""Where two workers' publishes fall relative to each other, real runs against their
calibrated simulations (2 threads).

Run: ``python benchmarks/publish_phase.py [--algo leashed] [--problem digits-mlp]
[--seconds 2] [--seeds 0,1,2]``. For each seed, ``asgd validate`` (a real run, its
calibration, the simulation) and, for both Traces:

* the offset of worker 0's publish starts within worker 1's cycle (10 bins: 0 and 1 are
  "in phase", 0.5 is "anti-phase"), and the share of worker 0's first attempts that failed
  in each bin (Leashed-SGD's CAS);
* how a gradient's duration grows with the share of it spent under the other worker's
  publish (the least-squares slope, in microseconds per unit share). The simulator's
  gradients do not depend on what the other worker does, so its slope is the selection
  effect alone (a short gradient fits between two publishes); the real slope above it is
  the slowdown of computing while another worker writes a whole vector.

A second table says how the pair keeps in step (docs/validation.md, "The tables on a faster
day"): the workers' coupling (:func:`theory.analysis.coupling`); the share of publishes
begun while the other's was under way; the median publish that had the other's begin during
it, and the median publish that met no other; the median difference of two gradients begun
within a tenth of a gradient of each other, beside that of the two workers' gradients drawn
independently; and the share of long gradients (over 2.5 times the median) that overlap a
long gradient of the other worker (stalls common to both cores). ``--model``, ``--dataset``
and ``--batch`` choose a workload as ``asgd validate`` does.
"""

from __future__ import annotations

import argparse

import numpy as np

from real_exec.executor.problems import problem_from_options
from real_exec.study.meetings import meeting_publishes
from real_exec.study.validate import validate
from theory.analysis import coupling


def _covered(starts: np.ndarray, ends: np.ndarray, ws: np.ndarray, we: np.ndarray) -> np.ndarray:
    """For each interval, the share of it covered by the windows ``[ws, we)`` (sorted, disjoint)."""
    cum = np.concatenate([[0.0], np.cumsum(we - ws)])
    out = np.zeros(len(starts))
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        lo, hi = np.searchsorted(we, s), np.searchsorted(ws, e)
        if hi > lo:
            cov = cum[hi] - cum[lo] - max(0.0, s - ws[lo]) - max(0.0, we[hi - 1] - e)
            out[i] = max(cov, 0.0) / (e - s)
    return out


def describe(trace) -> tuple[np.ndarray, np.ndarray, float]:  # type: ignore[no-untyped-def]
    """(offset histogram, failure share by bin, slope in us per unit share) of a 2-worker Trace."""
    t = trace.table
    a, b = (t[t.worker == w].sort_values("t_grad_done") for w in (0, 1))
    sa, sb = a.t_grad_done.to_numpy(), b.t_grad_done.to_numpy()
    k = np.searchsorted(sb, sa) - 1
    good = (k >= 0) & (k + 1 < len(sb))
    off = ((sa[good] - sb[k[good]]) / (sb[k[good] + 1] - sb[k[good]])).clip(0, 0.999)
    bins = (off * 10).astype(int)
    hist = np.bincount(bins, minlength=10) / bins.size
    failed = (a.attempts.to_numpy() > 1)[good]
    fail = np.array([failed[bins == i].mean() if (bins == i).any() else np.nan for i in range(10)])
    a = a.sort_values("t_read")
    g = (a.t_grad_done - a.t_read).to_numpy()
    share = _covered(
        a.t_read.to_numpy(), a.t_grad_done.to_numpy(), sb, b.sort_values("t_grad_done").t_apply.to_numpy()
    )
    keep = g < np.quantile(g, 0.95)
    slope = float(np.polyfit(share[keep], g[keep], 1)[0])
    return hist, fail, slope * 1e6


def pairing(trace) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """How the two workers of ``trace`` keep in step (the module docstring's second table)."""
    order, inside, met = meeting_publishes(trace.table)
    t = trace.table.iloc[order]
    s, e, w = (t[c].to_numpy(dtype=float) for c in ("t_grad_done", "t_apply", "worker"))
    led = np.zeros(e.size, dtype=bool)
    led[met[inside]] = True
    publish = e - s
    r = t["t_read"].to_numpy(dtype=float)
    g = s - r
    order = np.argsort(r, kind="stable")
    ro, go, wo = r[order], g[order], w[order]
    together = (np.diff(ro) < 0.1 * np.median(g)) & (wo[1:] != wo[:-1])
    rng = np.random.default_rng(0)
    independent = rng.choice(g[w == 0], 10_000) - rng.choice(g[w == 1], 10_000)
    long_ = g > 2.5 * np.median(g)
    common = []
    for i in (0, 1):
        mine, other = long_ & (w == i), long_ & (w != i)
        starts, ends = r[other], s[other]
        k = np.argsort(starts)
        starts, ends = starts[k], np.maximum.accumulate(ends[k])
        j = np.searchsorted(starts, s[mine])  # the other's long gradients begun before mine ended
        common.append(np.mean((j > 0) & (ends[np.maximum(j - 1, 0)] > r[mine])) if mine.any() else np.nan)
    return {
        "coupling": coupling(trace) or float("nan"),
        "overlapped": float(inside.mean()),
        "publish_met": float(np.median(publish[led])) if led.any() else float("nan"),
        "publish_alone": float(np.median(publish[~inside & ~led])),
        "together": float(np.median(np.abs(np.diff(go)[together]))) if together.any() else float("nan"),
        "independent": float(np.median(np.abs(independent))),
        "common_stalls": float(np.nanmean(common)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--algo", default="leashed")
    parser.add_argument("--problem", default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    name = args.problem
    if args.problem is None and args.model is None and args.dataset is None:
        name = "digits-mlp"
    problem = problem_from_options(name, args.model, args.dataset, seed=0, batch=args.batch)
    print(f"{args.algo}, 2 threads, {problem.name}, {args.seconds:g} s per run\n")
    print(
        "| seed | trace | offset of worker 0's publishes in worker 1's cycle (10 bins) "
        "| in phase (within 0.3) "
        "| first attempts failed, by bin | slope, us per unit share |"
    )
    print("|---|---|---|---|---|---|")
    pairs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        v = validate(args.algo, 2, problem, args.seconds, seed=seed)
        for kind, trace in (("real", v.real.trace), ("sim", v.sim.trace)):
            hist, fail, slope = describe(trace)
            near = hist[:3].sum() + hist[7:].sum()
            print(
                f"| {seed} | {kind} | {' '.join(f'{h:.2f}' for h in hist)} | {near:.2f} | "
                f"{' '.join(f'{f:.2f}' for f in fail)} | {slope:+.1f} |",
                flush=True,
            )
            pairs.append((seed, kind, v.comparison.tv, pairing(trace)))
    print(
        "\n| seed | trace | TV | coupling | publishes begun during the other's | publish met / alone, us "
        "| gradients begun together differ by, us (independent) | long gradients common to both |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for seed, kind, tv, m in pairs:
        print(
            f"| {seed} | {kind} | {tv:.3f} | {m['coupling']:.2f} | {m['overlapped']:.2f} | "
            f"{1e6 * m['publish_met']:.2f} / {1e6 * m['publish_alone']:.2f} | "
            f"{1e6 * m['together']:.3f} ({1e6 * m['independent']:.3f}) | {m['common_stalls']:.2f} |"
        )


if __name__ == "__main__":
    main()
