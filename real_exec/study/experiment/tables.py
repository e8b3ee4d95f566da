"""An experiment's tables: one row per run, and one row per cell with censored statistics.

Per cell: the runs, the fraction that reached the target and that diverged, the median
final accuracy on the whole test set, the median time to target and its interquartile range
by Kaplan-Meier (:mod:`theory.survival`; runs that did
not reach the target are censored at the budget, diverged runs too), and the speed-up of the
median over the baseline cell with a 95% bootstrap interval, paired by seed (every cell uses
the same seeds).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from real_exec.study.experiment.spec import Experiment
from theory.survival import km_summary, speedup_interval

__all__ = ["MIN_FOR_INTERVAL", "runs_table", "summary_table"]

#: Repetitions per cell below which no bootstrap interval of the speed-up is given: from two
#: runs a percentile bootstrap has three distinct resamples, not an interval.
MIN_FOR_INTERVAL = 3


def runs_table(exp: Experiment, records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per stored run, in the experiment's order."""
    rows = [records[r.key]["row"] for r in exp.runs if r.key in records]
    return pd.DataFrame(rows)


def _times(runs: pd.DataFrame) -> tuple[list[float], list[bool]]:
    ordered = runs.sort_values("repetition")
    reached = ordered["reached"].astype(bool).tolist()
    times = [
        t if hit else c
        for t, c, hit in zip(ordered["time_to_target"], ordered["censored_at"], reached, strict=True)
    ]
    return times, reached


def summary_table(exp: Experiment, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per cell (see the module docstring)."""
    labels = exp.cell_labels()
    base = runs[runs["cell"] == exp.baseline] if exp.baseline is not None else None
    rows = []
    for cell, label in enumerate(labels):
        mine = runs[runs["cell"] == cell]
        row: dict[str, Any] = {
            "cell": label,
            **{k: exp.cells[cell][k] for k in exp.grid_keys},
            "runs": len(mine),
        }
        if len(mine) == 0:
            rows.append(row)
            continue
        times, reached = _times(mine)
        km = km_summary(times, reached)
        row |= {
            "reached_fraction": float(mine["reached"].mean()),
            "diverged_fraction": float(mine["diverged"].mean()),
            "median_time_to_target": km["median"],
            "q25": km["q25"],
            "q75": km["q75"],
            "updates_per_s": float(mine["updates_per_s"].median()),
            "final_accuracy": float(mine["final_accuracy"].median())
            if "final_accuracy" in mine and mine["final_accuracy"].notna().any()
            else float("nan"),
        }
        if base is not None and len(base):
            paired = sorted(base["seed"]) == sorted(mine["seed"])
            point, low, high = speedup_interval(_times(base), (times, reached), paired=paired)
            if min(len(base), len(mine)) < MIN_FOR_INTERVAL:
                low = high = float("nan")  # too few resamples to mean anything: shown as n/a
            row |= {"speedup": point, "speedup_low": low, "speedup_high": high}
        rows.append(row)
    return pd.DataFrame(rows)
