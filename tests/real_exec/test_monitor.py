"""The main thread's loss curve: evaluated after the run when nothing needs it during it."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from real_exec.executor import monitor as monitor_module
from real_exec.executor.algorithms.steps import VERSION
from real_exec.executor.monitor import Monitor, Target

PER_EPOCH = 10  # gradients per epoch of the fake problem


class _Run:
    """A fake run: its parameters are ``[value] * size``, its gradients counted ``counted``;
    the problem's evaluation gives the parameters' first value as the loss and records
    every call, with whether the run was still going."""

    def __init__(self, size: int = 4) -> None:
        self.value, self.size, self.counted, self.halted, self.over = 1.0, size, 0, False, False
        self.calls: list[tuple[float, bool]] = []
        ctrl = np.zeros(VERSION + 1, dtype=np.int64)
        self.ctx = SimpleNamespace(counted=lambda: self.counted, ctrl=ctrl, halt=self._halt)
        self.problem = SimpleNamespace(
            evaluate=self._evaluate, samples=PER_EPOCH, gradients_per_epoch=lambda: PER_EPOCH
        )

    def _halt(self) -> None:
        self.halted = True

    def _evaluate(self, params: Any) -> dict[str, float]:
        self.calls.append((float(params[0]), self.over))
        return {"loss": float(params[0])}

    def snapshot(self) -> Any:
        return np.full(self.size, self.value)

    def monitor(self, target: Target | None = None, live: bool = False) -> Monitor:
        return Monitor(self.problem, self.ctx, self.snapshot, 0.1, target, live)  # type: ignore[arg-type]

    def step(self, m: Monitor, elapsed: float, value: float, counted: int) -> None:
        self.value, self.counted = value, counted
        m.tick(elapsed)

    def finish(self, m: Monitor, elapsed: float) -> None:
        self.over = True
        m.finish(elapsed, self.snapshot(), {"loss": self.value})


def test_without_a_target_the_curve_and_epochs_are_evaluated_after_the_run_at_the_parameters_taken() -> None:
    run = _Run()
    m = run.monitor()
    for k, (value, counted) in enumerate([(2.0, 0), (1.5, 12), (1.2, 25), (1.0, 31)]):
        run.step(m, 0.1 * k, value, counted)
    assert run.calls == []  # nothing evaluated while the workers run
    run.value = 0.9
    run.finish(m, 0.35)
    assert all(over for _, over in run.calls)
    curve, epochs = m.frames()
    assert curve["loss"].tolist() == [2.0, 1.5, 1.2, 1.0, 0.9]  # each point at its own copy
    assert curve["time"].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.35])
    # Epoch 1 ended by the second look (12 gradients), 2 by the third, 3 by the fourth.
    assert epochs["epoch"].tolist() == [1, 2, 3] and epochs["loss"].tolist() == [1.5, 1.2, 1.0]
    assert not m.diverged and not run.halted


def test_with_a_target_every_point_is_evaluated_while_the_run_goes_on() -> None:
    run = _Run()
    m = run.monitor(Target(loss_fraction=0.5))
    run.step(m, 0.0, 2.0, 0)
    run.step(m, 0.1, 1.5, 12)
    # The point, then the epoch (its own copy): both during the run.
    assert run.calls == [(2.0, False), (1.5, False), (1.5, False)]
    run.step(m, 0.2, 0.9, 15)  # 0.45 of the first loss: reached
    assert m.reached is not None and run.halted


def test_a_live_curve_without_a_target_is_evaluated_while_the_run_goes_on() -> None:
    # A calibration run's timing must contain the evaluations of the runs it predicts.
    run = _Run()
    m = run.monitor(live=True)
    for k, (value, counted) in enumerate([(2.0, 0), (1.5, 12), (0.1, 25)]):
        run.step(m, 0.1 * k, value, counted)
    assert run.calls == [(2.0, False), (1.5, False), (1.5, False), (0.1, False), (0.1, False)]
    assert not run.halted  # no target: a low loss does not stop it
    run.finish(m, 0.25)
    assert m.frames()[0]["loss"].tolist() == [2.0, 1.5, 0.1, 0.1]


def test_the_copies_kept_stay_within_their_bytes(monkeypatch) -> None:
    # Three copies of 4 floats (32 bytes each) fit in 100 bytes: the fourth point has the
    # oldest evaluated at once, in order, and the rest wait for the end.
    monkeypatch.setattr(monitor_module, "DEFERRED_BYTES", 100)
    run = _Run(size=4)
    m = run.monitor()
    for k in range(5):
        run.step(m, 0.1 * k, 5.0 - k, 0)
    assert run.calls == [(5.0, False), (4.0, False)]
    run.finish(m, 0.5)
    assert [v for v, _ in run.calls] == [5.0, 4.0, 3.0, 2.0, 1.0]
    assert m.frames()[0]["loss"].tolist() == [5.0, 4.0, 3.0, 2.0, 1.0, 1.0]


def test_a_copy_that_is_not_finite_stops_the_run_at_once() -> None:
    run = _Run()
    m = run.monitor()
    run.step(m, 0.0, 2.0, 0)
    run.step(m, 0.1, 1.0, 0)
    run.step(m, 0.2, math.inf, 0)
    # The two points kept are evaluated first (the first loss is the check's reference).
    assert run.calls == [(2.0, False), (1.0, False), (math.inf, False)]
    assert m.diverged and run.halted


def test_a_loss_beyond_the_threshold_is_found_when_the_run_has_ended() -> None:
    # Finite parameters whose loss is 10.5x the first: no evaluation during the run, so the
    # run goes on to its end, and is reported diverged then.
    run = _Run()
    m = run.monitor()
    run.step(m, 0.0, 2.0, 0)
    run.step(m, 0.1, 21.0, 0)
    assert not m.diverged and not run.halted
    run.value = 1.0
    run.finish(m, 0.2)
    assert m.diverged and not run.halted
