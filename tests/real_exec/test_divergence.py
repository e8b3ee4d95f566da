"""Divergence: where the threshold lies, and how diverged runs enter the time-to-target tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from real_exec.executor.monitor import diverged
from real_exec.study.experiment.spec import load_experiment
from real_exec.study.experiment.tables import summary_table


@pytest.mark.parametrize(
    ("loss", "initial", "expected"),
    [
        (19.8, 2.0, False),  # 9.9x the initial loss: still converging
        (20.0, 2.0, False),  # exactly 10x: not more than 10x
        (20.2, 2.0, True),  # 10.1x: diverged (the documented threshold, docs/experiments.md)
        (math.nan, 2.0, True),
        (math.inf, 2.0, True),
        (-math.inf, 2.0, True),
        (1e300, math.inf, False),  # no finite initial loss: only a non-finite loss diverges
        (math.nan, math.inf, True),
    ],
)
def test_the_divergence_threshold(loss: float, initial: float, expected: bool) -> None:
    assert diverged(loss, initial) is expected


def test_diverged_runs_are_censored_at_the_budget_in_the_cell_summary(tmp_path: Path) -> None:
    # One cell, four runs: reached at 1 s and 2 s, one diverged after 0.5 s, one ran out of the
    # 5 s budget. Kaplan-Meier with both unreached runs censored at 5 s: F(1) = 1/4,
    # F(2) = 1/2, so the median is 2 s and q75 infinite. Counting the diverged run as reached
    # at 0.5 s would give a median of 1 s and q25 0.5 s; dropping it, 3 runs.
    spec = tmp_path / "exp.toml"
    spec.write_text(
        '[run]\nproblem = "digits-mlp"\nthreads = 2\neta = 0.05\nalgo = "lock"\n'
        "[target]\ntest_accuracy = 0.97\n[budget]\nseconds = 5\n[repeat]\ncount = 4\n"
    )
    exp = load_experiment(spec)
    runs = pd.DataFrame(
        {
            "cell": [0, 0, 0, 0],
            "repetition": [0, 1, 2, 3],
            "seed": [0, 1, 2, 3],
            "reached": [True, True, False, False],
            "diverged": [False, False, True, False],
            "time_to_target": [1.0, 2.0, math.nan, math.nan],
            "censored_at": [5.0, 5.0, 5.0, 5.0],
            "updates_per_s": [1.0, 1.0, 1.0, 1.0],
        }
    )
    row = summary_table(exp, runs).iloc[0]
    assert row["runs"] == 4 and row["reached_fraction"] == 0.5 and row["diverged_fraction"] == 0.25
    assert row["median_time_to_target"] == 2.0 and row["q25"] == 1.0
    assert math.isinf(row["q75"])  # half the runs never reached it: no 75th percentile


@pytest.mark.parametrize(("reps", "interval"), [(2, False), (3, True)])
def test_no_speed_up_interval_from_too_few_repetitions(tmp_path: Path, reps: int, interval: bool) -> None:
    spec = tmp_path / "exp.toml"
    spec.write_text(
        '[run]\nproblem = "digits-mlp"\nthreads = 2\neta = 0.05\n[grid]\nalgo = ["lock", "hogwild"]\n'
        f"[target]\ntest_accuracy = 0.97\n[budget]\nseconds = 5\n[repeat]\ncount = {reps}\n"
        'baseline = { algo = "lock" }\n'
    )
    exp = load_experiment(spec)
    rows = [
        {"cell": r.cell, "repetition": r.repetition, "seed": r.seed, "reached": True, "diverged": False,
         "time_to_target": 1.0 + 0.1 * r.repetition + 0.5 * r.cell, "censored_at": 5.0, "updates_per_s": 1.0}
        for r in exp.runs
    ]  # fmt: skip
    row = summary_table(exp, pd.DataFrame(rows)).iloc[1]
    assert row["speedup"] == pytest.approx(1.0 / 1.5 if reps == 2 else 1.1 / 1.6)  # Kaplan-Meier medians
    assert np.isfinite(row["speedup_low"]) == interval and np.isfinite(row["speedup_high"]) == interval
