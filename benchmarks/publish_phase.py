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
"""

from __future__ import annotations

import argparse

import numpy as np

from real_exec.executor.problems import problem_from_options
from real_exec.study.validate import validate


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--algo", default="leashed")
    parser.add_argument("--problem", default="digits-mlp")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    problem = problem_from_options(args.problem, None, None, seed=0)
    print(f"{args.algo}, 2 threads, {args.problem}, {args.seconds:g} s per run\n")
    print(
        "| seed | trace | offset of worker 0's publishes in worker 1's cycle (10 bins) "
        "| in phase (within 0.3) "
        "| first attempts failed, by bin | slope, us per unit share |"
    )
    print("|---|---|---|---|---|---|")
    for seed in (int(s) for s in args.seeds.split(",")):
        v = validate(args.algo, 2, problem, args.seconds, seed=seed)
        for name, trace in (("real", v.real.trace), ("sim", v.sim.trace)):
            hist, fail, slope = describe(trace)
            near = hist[:3].sum() + hist[7:].sum()
            print(
                f"| {seed} | {name} | {' '.join(f'{h:.2f}' for h in hist)} | {near:.2f} | "
                f"{' '.join(f'{f:.2f}' for f in fail)} | {slope:+.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
