"""What the main thread measures while the workers run: the loss curve and the epochs.

Every ``interval`` seconds it evaluates a snapshot of the parameters (``problem.evaluate``:
the loss on a fixed training subset and, for classifiers, the accuracy on a fixed test
subset) -- the loss curve over wall time. It also watches the gradients counted so far;
when they pass an epoch boundary (``problem.gradients_per_epoch()``) it evaluates the
training loss on the same subset, with the wall time: ``epoch_loss`` and ``epoch_time``. It
looks every 50 ms at most, so an epoch is logged up to 50 ms (plus one evaluation) after it
ends, and when epochs are shorter than that only the last epoch of each look is logged.

Without a :class:`Target` nothing needs a loss while the workers run, so the main thread
only copies the parameters at each point (and each epoch) and evaluates the copies when
the run has ended: the curve is the same, and the workers keep the cores to themselves
(an evaluation takes a core for as long as a few gradients; a copy, for one vector).
``live=True`` evaluates as it goes all the same: a calibration run whose timing must contain
the evaluations of the runs it predicts, which check a target. The
copies kept wait within :data:`DEFERRED_BYTES`; beyond it the oldest is evaluated at
once. A copy that holds a NaN or an infinity is evaluated at once, and the run stops as
diverged; one whose loss exceeds ``DIVERGED`` times the first is found when the run has
ended (``diverged`` is then set, and the run has gone on to its end).

With a :class:`Target`, each curve point is also checked against it: the run stops as soon
as the loss is at most ``loss_fraction`` times the first point's loss or the accuracy reaches
``accuracy`` (whichever comes first), and it stops as diverged when the loss is NaN, infinite
or more than ``DIVERGED`` times the first. The target is checked at the curve's points only,
so the time to target is known to within one sampling interval (plus one evaluation).

The curve's accuracy is measured on a test subset (1,000 samples: a standard error of about
1.1 points at 85%), so a noisy point can cross the target before the model has: an accuracy
target is reached only when the whole test set confirms it, at the same parameters
(:class:`Judge`; docs/experiments.md). A whole-test-set evaluation costs several subset
ones (for Fashion-MNIST's 10,000 test images, about seven), and the main thread shares the
cores with the workers: after a confirmation that said no, the next crossings go
unconfirmed for as long as keeps confirmations within ``Judge.SHARE`` of the main thread's
time, ``ceil(cost / (SHARE * interval)) - 1`` of them (none when the checks are far apart),
so the time to target is then known to within that many more intervals where the subset
runs ahead. The cost is measured once, before the run starts (:meth:`Judge.fix_cost`), and
replays of a forecast measure and apply it the same way.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from real_exec.executor.algorithms.steps import VERSION
from real_exec.executor.problems import Problem
from real_exec.executor.run_context import RunContext

__all__ = ["DEFERRED_BYTES", "DIVERGED", "Judge", "Monitor", "Target", "curve_columns", "diverged"]

#: A run whose loss exceeds this multiple of its initial loss has diverged.
DIVERGED = 10.0

#: The most bytes of parameter copies a run without a target keeps to evaluate after it.
DEFERRED_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Target:
    """When a run has converged: its loss at most ``loss_fraction`` x the initial loss (the
    papers' epsilon), or its test accuracy at least ``accuracy``; either may be ``None``."""

    accuracy: float | None = None
    loss_fraction: float | None = None

    def __post_init__(self) -> None:
        if self.accuracy is None and self.loss_fraction is None:
            raise ValueError("a target needs test_accuracy or loss_fraction (or both)")
        if self.accuracy is not None and not 0.0 < self.accuracy <= 1.0:
            raise ValueError(f"target test_accuracy must be in (0, 1], got {self.accuracy}")
        if self.loss_fraction is not None and not 0.0 < self.loss_fraction < 1.0:
            raise ValueError(f"target loss_fraction must be in (0, 1), got {self.loss_fraction}")

    def reached(self, point: dict[str, float], initial_loss: float) -> bool:
        by_loss = self.loss_fraction is not None and point["loss"] <= self.loss_fraction * initial_loss
        by_accuracy = self.accuracy is not None and point.get("accuracy", -1.0) >= self.accuracy
        return by_loss or by_accuracy


class Judge:
    """Whether a run has reached its target, check by check (see the module docstring).
    ``interval``: seconds between the checks (a real run's wall time, or a replay's schedule
    time); ``clock``: wall seconds, for a confirmation's cost (:meth:`fix_cost`)."""

    #: The share of the main thread's time that confirmations may take.
    SHARE = 0.25

    def __init__(
        self,
        target: Target,
        problem: Problem,
        interval: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.target, self.problem, self.interval, self.clock = target, problem, interval, clock
        #: Crossings left unconfirmed after a confirmation that said no (:meth:`fix_cost`).
        self.after_no = 0
        self._skip = 0

    def _confirms(self) -> bool:
        return self.target.accuracy is not None and self.problem.evaluate_final is not None

    def fix_cost(self, params: Any) -> None:
        """Time one whole-test evaluation of ``params`` now, before the run (alone on the
        machine), and fix from it the crossings that go unconfirmed after a "no":
        ``ceil(cost / (SHARE * interval)) - 1``. A real run and the replay of its forecast
        fix it the same way, so they skip the same checks (a cost measured during the run,
        with every core busy, would make the real run skip more than its replay)."""
        if self.interval is None or not self._confirms():
            return
        start = self.clock()
        self.problem.evaluate_final(params)  # type: ignore[misc]
        cost = self.clock() - start
        self.after_no = max(0, math.ceil(cost / (self.SHARE * self.interval)) - 1)

    def reached(self, params: Any, point: dict[str, float], initial: float) -> bool:
        """Whether ``params`` (whose subset evaluation is ``point``) reached the target: by
        the loss as the point says, by accuracy only if the whole test set says so too
        (``problem.evaluate_final``, where the problem has one)."""
        target = self.target
        if not target.reached(point, initial):
            return False
        by_loss = target.loss_fraction is not None and point["loss"] <= target.loss_fraction * initial
        if by_loss or not self._confirms():
            return True
        if self._skip > 0:
            self._skip -= 1
            return False
        confirmed = self.problem.evaluate_final(params).get("accuracy", -1.0) >= target.accuracy  # type: ignore[misc,operator]
        if not confirmed:
            self._skip = self.after_no
        return confirmed


def curve_columns(curve: pd.DataFrame) -> dict[str, list[float]]:
    """A loss curve as plain lists by column (for JSON records)."""
    return {c: curve[c].tolist() for c in curve.columns}


def diverged(loss: float, initial: float) -> bool:
    """Whether a run whose loss started at ``initial`` has diverged at ``loss``: a loss that is
    not finite, or more than :data:`DIVERGED` times a finite initial loss.

    >>> diverged(9.9, 1.0), diverged(10.1, 1.0), diverged(float("nan"), 1.0)
    (False, True, True)
    """
    return not math.isfinite(loss) or (math.isfinite(initial) and loss > DIVERGED * initial)


class Monitor:
    """The loss curve and the per-epoch losses of one run."""

    def __init__(
        self,
        problem: Problem,
        ctx: RunContext,
        snapshot: Callable[[], Any],
        interval: float,
        target: Target | None = None,
        live: bool = False,
    ) -> None:
        self.problem, self.ctx, self.snapshot, self.interval = problem, ctx, snapshot, interval
        self.target = target
        #: Whether the points are evaluated as they are taken (always, with a target).
        self.live = live or target is not None
        self.judge = Judge(target, problem, interval) if target is not None else None
        if self.judge is not None:
            self.judge.fix_cost(snapshot())  # before the workers start
        #: Set when the run reached its target: (seconds, gradients counted then).
        self.reached: tuple[float, int] | None = None
        self.diverged = False
        self.curve: list[dict[str, float]] = []
        self.epochs: list[dict[str, float]] = []
        self.per_epoch = problem.gradients_per_epoch() if problem.samples > 0 else None
        self._next_sample = 0.0
        self._last_epoch = 0
        #: Points and epochs still to evaluate (without a target): the row, the loss's key
        #: in it, and the parameters copied then; and their bytes.
        self._pending: deque[tuple[dict[str, float], str | None, Any]] = deque()
        self._pending_bytes = 0

    def tick(self, elapsed: float) -> None:
        """Sample the curve if it is time, and log an epoch if one has ended."""
        if elapsed >= self._next_sample:
            counted, params = self.ctx.counted(), self.snapshot()
            version = int(self.ctx.ctrl[VERSION])  # the steps applied when params were taken (about)
            row: dict[str, float] = {"time": elapsed, "steps": version}
            self.curve.append(row)
            # on the grid k * interval (as a replay checks), not interval after this sample:
            # the evaluation's own time would otherwise stretch every interval
            self._next_sample = (math.floor(elapsed / self.interval) + 1) * self.interval
            if not self.live and np.isfinite(params).all():
                self._defer(row, None, params)
            else:
                self._settle_kept()  # the first point's loss, which the check compares with
                point = self.problem.evaluate(params)
                row.update(point)
                self._check(elapsed, params, point, counted)
        self._log_epoch(elapsed, None)

    def _defer(self, row: dict[str, float], key: str | None, params: Any) -> None:
        """Keep ``params`` to evaluate into ``row`` after the run (``key``: only that value
        of the evaluation; ``None``: all of it), evaluating the oldest kept ones now while
        the copies exceed :data:`DEFERRED_BYTES`."""
        self._pending.append((row, key, params))
        self._pending_bytes += params.nbytes
        while self._pending_bytes > DEFERRED_BYTES and self._pending:
            self._settle_oldest()

    def _settle_oldest(self) -> None:
        row, key, params = self._pending.popleft()
        self._pending_bytes -= params.nbytes
        point = self.problem.evaluate(params)
        row.update(point if key is None else {key: point[key]})

    def _settle_kept(self) -> None:
        """Evaluate every kept copy, in order."""
        while self._pending:
            self._settle_oldest()

    def _settle(self) -> None:
        """Evaluate the kept copies, in order, and find a divergence among their points."""
        self._settle_kept()
        initial = self.curve[0]["loss"] if self.curve else math.nan
        if any(diverged(row["loss"], initial) for row in self.curve[1:]):
            self.diverged = True

    @property
    def next_sample(self) -> float:
        """Seconds from the start of the run at which the next sample is due."""
        return self._next_sample

    def _check(self, elapsed: float, params: Any, point: dict[str, float], counted: int) -> None:
        """Stop the run at its target, or as diverged (see the module docstring); ``counted``:
        the gradients counted when ``params`` was taken (not after the evaluations, while
        the workers went on)."""
        initial = self.curve[0]["loss"]
        loss = point["loss"]
        if diverged(loss, initial):
            self.diverged = True
            self.ctx.halt()
        elif self.judge is not None and self.reached is None and self.judge.reached(params, point, initial):
            self.reached = (elapsed, counted)
            self.ctx.halt()

    def finish(self, elapsed: float, params: Any, final: dict[str, float]) -> None:
        """Evaluate what waited for the end of the run, then add the final evaluation to the
        curve, and the last epoch if it ended with the run."""
        self._settle()
        self.curve.append({"time": elapsed, **final})
        self._log_epoch(elapsed, final["loss"])

    def _log_epoch(self, elapsed: float, loss: float | None) -> None:
        if self.per_epoch is None:
            return
        epoch = self.ctx.counted() // self.per_epoch
        if epoch > self._last_epoch:
            self._last_epoch = epoch
            row = {"epoch": epoch, "time": elapsed, "loss": math.nan if loss is None else loss}
            self.epochs.append(row)
            if loss is None:
                params = self.snapshot()
                if not self.live:
                    self._defer(row, "loss", params)
                else:
                    row["loss"] = self.problem.evaluate(params)["loss"]

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The curve (time, loss, accuracy, ...) and the epochs (epoch, time, loss)."""
        return pd.DataFrame(self.curve), pd.DataFrame(self.epochs, columns=["epoch", "time", "loss"])
