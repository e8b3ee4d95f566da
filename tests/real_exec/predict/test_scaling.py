"""The budget of a scaling forecast: updates turned into simulated seconds."""

from __future__ import annotations

import pytest

from real_exec.study.predict.scaling import budget_for
from staleness_sim.profile import HardwareProfile


def test_budget_gives_every_busy_worker_its_share_of_the_updates() -> None:
    profile = HardwareProfile().with_overrides(
        compute="const:0.004", read="const:0.0005", publish="const:0.0005"
    )
    assert budget_for(profile, 1, 1000) == pytest.approx(5.0)  # 1000 updates x 5 ms
    assert budget_for(profile, 10, 1000) == pytest.approx(0.5)
    capped = profile.with_overrides(cores=4)
    assert budget_for(capped, 10, 1000) == pytest.approx(1.25)  # only 4 cores compute at once
    with pytest.raises(ValueError, match="max_updates"):
        budget_for(profile, 4, 0)


def test_forecasts_in_parallel_give_the_rows_of_forecasts_one_at_a_time(monkeypatch) -> None:
    # The forecasts run in threads after every calibration; each is seeded on its own, so
    # the rows must not depend on how many run at once. The real calibration run is replaced
    # by a fixed profile, since two real runs never time alike.
    import numpy as np

    import real_exec.study.predict.scaling as scaling
    from real_exec.executor.monitor import Target
    from real_exec.executor.problems import make_problem

    fixed = HardwareProfile().with_overrides(
        compute="gamma:a=4,scale=0.00005", read="const:0.00001", publish="const:0.00001"
    )
    calibrated: list[str] = []

    def calibrate(problem, algo, threads, **_kwargs):
        calibrated.append(algo)
        return fixed

    monkeypatch.setattr(scaling, "calibrate_here", calibrate)
    problem = make_problem("digits-mlp", np.random.default_rng(0))  # a kernel with a workspace
    kwargs = dict(
        algos=["lock", "leashed"],
        rules=["constant", "tail"],
        workers=[2, 8],
        here=(2,),
        eta=0.05,
        target=Target(loss_fraction=0.2),  # no whole-test confirmation, whose timing varies
        max_updates=1500,
        reps=2,
        seed=3,
    )
    one = scaling.predict_scaling(problem, fixed.with_overrides(cores=4), jobs=1, **kwargs)
    two = scaling.predict_scaling(problem, fixed.with_overrides(cores=4), jobs=2, **kwargs)
    assert calibrated == ["lock", "leashed"] * 2  # once per algorithm, not per setup
    assert len(one) == 2 * 2 * 3
    drop = lambda rows: [{k: v for k, v in r.items() if k != "replay_seconds"} for r in rows]  # noqa: E731
    assert drop(one) == drop(two)
    assert any(np.isfinite(r["median_time_to_target"]) for r in one)  # the target is reachable
    assert any(r["machine"] == "here" for r in one) and any(r["machine"] != "here" for r in one)
