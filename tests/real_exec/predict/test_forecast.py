"""Calibration for a forecast: the real run is made as the runs it predicts are."""

from __future__ import annotations

from dataclasses import replace

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
    # They are evaluated while the run goes on (a run without a target would otherwise
    # evaluate them after it, the workers keeping every core: tests/real_exec/test_monitor.py).
    made = []
    real_run = forecast_module.run

    def recording_run(config, problem, *args, **kwargs):
        result = real_run(config, problem, *args, **kwargs)
        made.append((config.sample_every, len(result.curve)))
        assert kwargs.get("live_curve") is True
        return result

    monkeypatch.setattr(forecast_module, "run", recording_run)
    problem = make_problem("logreg", np.random.default_rng(0))
    calibrate_here(problem, "hogwild", 1, eta=0.05, seconds=0.6, check_every=0.02)
    calibrate_here(problem, "hogwild", 1, eta=0.05, seconds=0.6)
    (every, dense), (default, sparse) = made
    assert every == 0.02 and dense >= 20
    assert default is None and sparse <= 12


def test_only_hogwilds_contention_probe_shares_one_vector(monkeypatch) -> None:
    # HOGWILD!'s threads compute on the vector they all write, so its probe's factor holds
    # the writes' cost; the others compute on copies of their own (lock-based, Rennala), a
    # version nobody writes (Leashed-SGD) or a vector written only between rounds
    # (synchronous), and their writes' cost is measured by the publish probe.
    probed, published = [], []

    def probe(problem, workers, seconds, shared=False):
        probed.append(shared)
        return (1.0, 1.1)

    def publish_probe(problem, workers, seconds):
        published.append(workers)
        return (1.0, 1.5)

    monkeypatch.setattr(forecast_module, "measure_contention", probe)
    monkeypatch.setattr(forecast_module, "measure_publish_contention", publish_probe)
    monkeypatch.setattr(forecast_module, "measure_lock_handoff", lambda publish: 3e-5)
    monkeypatch.setattr(forecast_module, "usable_cores", lambda: 4)  # no main-thread factor at 2
    problem = make_problem("logreg", np.random.default_rng(0))
    profiles = {}
    for algo in ("hogwild", "lock", "leashed", "sync", "rennala"):
        profiles[algo] = calibrate_here(
            problem, algo, 1, eta=0.05, seconds=0.2, predict_threads=2, lost_update_seconds=0
        )
    assert probed == [True, False, False, False, False] and published == [2, 2, 2, 2]
    assert profiles["hogwild"].publish_contention == (1.0,)
    assert all(profiles[a].publish_contention == (1.0, 1.5) for a in ("lock", "leashed", "sync", "rennala"))
    assert all(p.contention == (1.0, 1.1) for p in profiles.values())
    # One thread never waits for the lock: the hand-off of the mutex's users is probed.
    assert {a: p.lock_handoff for a, p in profiles.items()} == {
        "hogwild": 0.0,
        "lock": 3e-5,
        "leashed": 0.0,
        "sync": 0.0,
        "rennala": 3e-5,
    }


def test_a_calibration_with_an_idle_core_adds_the_main_threads_share_where_none_is_idle(monkeypatch) -> None:
    # A 1-thread calibration on 2 cores leaves the main thread a core; 2 predicted workers
    # occupy both, so the main thread's CPU seconds (its evaluations) are taken from them:
    # 0.4 s of CPU in a 1-s run over 2 cores is a share of 0.2, a factor 1 / 0.8 on the
    # gradients of 2 busy cores, on top of the probe's 1.1; 1 predicted worker keeps 1.
    real_run = forecast_module.run

    def busy_main_thread(config, problem, **kwargs):
        result = real_run(config, problem, **kwargs)
        return replace(result, main_cpu=0.4 * result.wall_time)

    monkeypatch.setattr(forecast_module, "run", busy_main_thread)
    monkeypatch.setattr(forecast_module, "usable_cores", lambda: 2)
    monkeypatch.setattr(forecast_module, "measure_contention", lambda *a, **k: (1.0, 1.1))
    monkeypatch.setattr(forecast_module, "measure_publish_contention", lambda *a, **k: (1.0, 1.5))
    monkeypatch.setattr(forecast_module, "measure_lock_handoff", lambda publish: 3e-5)
    problem = make_problem("logreg", np.random.default_rng(0))
    profile = calibrate_here(problem, "lock", 1, eta=0.05, seconds=0.2, predict_threads=3)
    assert profile.contention == pytest.approx((1.0, 1.1 / 0.8))
    unprobed = calibrate_here(
        problem, "lock", 1, eta=0.05, seconds=0.2, predict_threads=2, contention_seconds=0
    )
    assert unprobed.contention == pytest.approx((1.0, 1 / 0.8)) and unprobed.publish_contention == (1.0,)
    # Calibrated on every core: its phases hold the main thread's share already.
    assert calibrate_here(problem, "lock", 2, eta=0.05, seconds=0.2, predict_threads=3).contention == (
        pytest.approx((1.0 / 1.1, 1.0))
    )


def test_a_forecast_replays_its_repetitions_in_parallel_as_it_would_one_at_a_time() -> None:
    # Each repetition is seeded on its own and BLAS is held to one thread, so running two at
    # once must change nothing but the wall time (the MLP's kernel has a per-thread workspace
    # that two replays at once must not share).
    from real_exec.executor.monitor import Target
    from real_exec.study.predict.forecast import Trial, forecast
    from staleness_sim.profile import HardwareProfile

    problem = make_problem("digits-mlp", np.random.default_rng(0))
    profile = HardwareProfile().with_overrides(
        compute="gamma:a=4,scale=0.00005", read="const:0.00001", publish="const:0.00001", cores=4
    )
    trial = Trial("leashed", 4, 0.05, Target(loss_fraction=0.2), budget=0.05, reps=4, seed=2)
    one, two = forecast(problem, trial, profile, jobs=1), forecast(problem, trial, profile, jobs=2)
    drop = lambda rows: [{k: v for k, v in r.items() if k != "replay_seconds"} for r in rows]  # noqa: E731
    assert drop(one.per_rep) == drop(two.per_rep)
    assert one.curves == two.curves
    assert [r["rep"] for r in two.per_rep] == [0, 1, 2, 3]
    assert len({r["seed"] for r in one.per_rep}) == 4
    assert any(r["reached"] for r in one.per_rep)
