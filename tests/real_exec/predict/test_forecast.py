"""Calibration for a forecast: the real run is made as the runs it predicts are."""

from __future__ import annotations

import numpy as np
import pytest

import real_exec.study.predict.forecast as forecast_module
from real_exec.executor.problems import make_problem
from real_exec.study.predict.forecast import calibrate_here, check_interval


def test_the_target_is_checked_every_check_every_or_fifty_times_per_budget() -> None:
    assert check_interval(0.1, 30.0) == 0.1
    assert check_interval(None, 30.0) == pytest.approx(0.6)


def test_the_calibration_run_evaluates_its_curve_as_often_as_the_predicted_runs(monkeypatch) -> None:
    # The main thread's evaluations take a core from the workers when they occupy every
    # core; the calibrated phases must contain as many as the runs predicted. The curve of a
    # 0.6-second run sampled every 0.02 s has about 30 points (20 allows for a loaded machine
    # delaying the main thread); with the default, ten points over the run and the final one.
    made = []
    real_run = forecast_module.run

    def recording_run(config, problem, *args, **kwargs):
        result = real_run(config, problem, *args, **kwargs)
        made.append((config.sample_every, len(result.curve)))
        return result

    monkeypatch.setattr(forecast_module, "run", recording_run)
    problem = make_problem("logreg", np.random.default_rng(0))
    calibrate_here(problem, "hogwild", 1, eta=0.05, seconds=0.6, check_every=0.02)
    calibrate_here(problem, "hogwild", 1, eta=0.05, seconds=0.6)
    (every, dense), (default, sparse) = made
    assert every == 0.02 and dense >= 20
    assert default is None and sparse <= 12
