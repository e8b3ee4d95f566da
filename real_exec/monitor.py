"""What the main thread measures while the workers run: the loss curve and the epochs.

Every ``interval`` seconds it evaluates a snapshot of the parameters (``problem.evaluate``:
the loss on a fixed training subset and, for classifiers, the accuracy on a fixed test
subset) -- the loss curve over wall time. It also watches the gradients counted so far;
when they pass an epoch boundary (``problem.gradients_per_epoch()``) it evaluates the
training loss on the same subset, with the wall time: ``epoch_loss`` and ``epoch_time``. It
looks every 50 ms at most, so an epoch is logged up to 50 ms (plus one evaluation) after it
ends, and when epochs are shorter than that only the last epoch of each look is logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from real_exec.problems import Problem
from real_exec.run_context import RunContext

__all__ = ["Monitor"]


class Monitor:
    """The loss curve and the per-epoch losses of one run."""

    def __init__(
        self, problem: Problem, ctx: RunContext, snapshot: Callable[[], Any], interval: float
    ) -> None:
        self.problem, self.ctx, self.snapshot, self.interval = problem, ctx, snapshot, interval
        self.curve: list[dict[str, float]] = []
        self.epochs: list[dict[str, float]] = []
        self.per_epoch = problem.gradients_per_epoch() if problem.samples > 0 else None
        self._next_sample = 0.0
        self._last_epoch = 0

    def tick(self, elapsed: float) -> None:
        """Sample the curve if it is time, and log an epoch if one has ended."""
        if elapsed >= self._next_sample:
            self.curve.append({"time": elapsed, **self.problem.evaluate(self.snapshot())})
            self._next_sample = elapsed + self.interval
        self._log_epoch(elapsed, None)

    def finish(self, elapsed: float, params: Any, final: dict[str, float]) -> None:
        """Add the final evaluation to the curve, and the last epoch if it ended with the run."""
        self.curve.append({"time": elapsed, **final})
        self._log_epoch(elapsed, final["loss"])

    def _log_epoch(self, elapsed: float, loss: float | None) -> None:
        if self.per_epoch is None:
            return
        epoch = sum(len(r) for r in self.ctx.recorders) // self.per_epoch
        if epoch > self._last_epoch:
            self._last_epoch = epoch
            value = loss if loss is not None else self.problem.evaluate(self.snapshot())["loss"]
            self.epochs.append({"epoch": epoch, "time": elapsed, "loss": value})

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The curve (time, loss, accuracy, ...) and the epochs (epoch, time, loss)."""
        return pd.DataFrame(self.curve), pd.DataFrame(self.epochs, columns=["epoch", "time", "loss"])
