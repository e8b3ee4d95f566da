"""Replaying training in a schedule is the algorithm's arithmetic under that schedule."""

from __future__ import annotations

import numpy as np
import pytest

from real_exec.executor.monitor import Target
from real_exec.executor.problems import make_problem
from real_exec.study.predict.replay import replay
from staleness_sim import HardwareProfile, SimConfig, simulate
from tests.real_exec.predict.hand_made import A, B, hand_quadratic, hand_schedule
from theory.trace import Trace


def test_replay_applies_the_gradients_of_the_versions_read_in_publish_order() -> None:
    problem, trace, eta = hand_quadratic(), hand_schedule(), 0.1
    scale = {0: 1.0, 1: 0.5, 2: 0.25}  # s(tau); tau = 0, 1, 1, 0, 2 for updates 1..5
    result = replay(trace, problem, eta, lambda t: scale[t], evaluate_every=1e9)
    versions = [np.array([1.0, 1.0, 1.0])]
    for read, tau in ((0, 0), (0, 1), (1, 1), (3, 0), (2, 2)):  # by hand, in publish order
        g = A @ versions[read] - B
        versions.append(versions[-1] - eta * scale[tau] * g)
    assert result.updates == 5
    np.testing.assert_array_equal(result.params, versions[-1])  # exactly, not approximately
    assert result.curve["time"].tolist() == [0.0, 3.6]


def test_a_synchronous_round_averages_its_gradients() -> None:
    problem = hand_quadratic()
    trace = Trace.from_columns(
        worker=[0, 1, 0, 1],
        read_version=[0, 0, 1, 1],
        apply_version=[1, 1, 2, 2],
        tau=[0, 0, 0, 0],
        t_read=[0.0, 0.0, 1.0, 1.0],
        t_grad_done=[0.5, 0.9, 1.6, 1.7],
        t_apply=[1.0, 1.0, 2.0, 2.0],
        attempts=[1] * 4,
        step_size=[0.2] * 4,
    )
    result = replay(trace, problem, 0.2)
    x = np.array([1.0, 1.0, 1.0])
    for _ in range(2):  # both workers read the same version: the average is one gradient
        x = x - 0.2 * (A @ x - B)
    np.testing.assert_allclose(result.params, x, rtol=0, atol=1e-15)
    assert result.updates == 2
    # Reached after the first round: counted as a real run counts, in gradients (2), not rounds.
    first = replay(trace, problem, 0.2, target=Target(loss_fraction=0.999999), evaluate_every=0.5)
    assert first.reached == (1.0, 2) and first.updates == 1


def test_replay_of_a_simulated_schedule_reaches_a_target_and_stops() -> None:
    problem = make_problem("digits-mlp", np.random.default_rng(0))
    sim = simulate(SimConfig("leashed", 2, HardwareProfile(), gradients=3000, seed=1)).trace
    result = replay(sim, problem, 0.05, seed=3, target=Target(accuracy=0.9), evaluate_every=20.0)
    assert result.reached is not None and not result.diverged
    time_to_target, updates = result.reached
    assert 0 < time_to_target < float(sim.table["t_apply"].max()) and 0 < updates < 3000
    assert result.curve["accuracy"].iloc[-1] >= 0.9


def test_a_diverging_step_stops_the_replay() -> None:
    sim = simulate(SimConfig("hogwild", 2, HardwareProfile(), gradients=2000, seed=1)).trace
    result = replay(sim, make_problem("digits-mlp", np.random.default_rng(0)), 50.0, evaluate_every=5.0)
    assert result.diverged and result.updates < 2000
    with pytest.raises(ValueError, match="a target needs"):
        Target()


def test_a_replay_fixes_its_skipped_confirmations_as_a_run_does(monkeypatch: pytest.MonkeyPatch) -> None:
    # After a whole-test confirmation says no, a real run leaves the next crossings
    # unconfirmed by a rule fixed before it starts (Judge.fix_cost); its replay must fix the
    # same rule at the same interval between checks, or the two would check differently.
    from real_exec.executor import monitor

    fixed: list[float | None] = []
    original = monitor.Judge.fix_cost

    def spy(self: monitor.Judge, params: object) -> None:
        fixed.append(self.interval)
        original(self, params)

    monkeypatch.setattr(monitor.Judge, "fix_cost", spy)
    problem = make_problem("digits-mlp", np.random.default_rng(0))
    sim = simulate(SimConfig("leashed", 2, HardwareProfile(), gradients=500, seed=1)).trace
    replay(sim, problem, 0.05, seed=3, target=Target(accuracy=0.99), evaluate_every=7.0)
    assert fixed == [7.0]
