"""What the worker threads of one real run share: the control block, step sizes, records.

The compiled worker loops (:mod:`real_exec.executor.algorithms`) read and write these arrays; the
main thread uses this object to stop the run, to count the gradients so far, and to fix the
step-size table once the warm-up sample is complete.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from real_exec.executor.algorithms.steps import (
    CONTROL,
    DISCARD_AT,
    GATE,
    GO_ON,
    LIMIT,
    READY,
    SLEEP,
    SPIN,
    STOP,
    TABLE,
    WARM_SKIP,
    WARM_TAKE,
)
from real_exec.executor.config import RunConfig
from real_exec.executor.machine import usable_cores
from real_exec.executor.native import now
from real_exec.executor.problems import Problem
from real_exec.executor.recorder import PEAK, Recorder
from theory.spec import needs_pmf
from theory.staleness import Empirical

__all__ = ["RunContext"]

#: Entries of the step-size table: ``s(tau)`` for ``tau < TABLE_SIZE`` (larger ``tau`` take the last).
TABLE_SIZE = 1 << 16


class RunContext:
    """The control block, the step-size tables, the warm-up sample, and per-worker buffers."""

    def __init__(self, config: RunConfig, problem: Problem) -> None:
        self.config = config
        self.problem = problem
        self.ctrl = np.zeros(CONTROL, dtype=np.int64)
        #: Gradients to compute in all (None: until the deadline).
        self.limit = (
            config.gradients
            if config.epochs is None
            else max(1, int(np.ceil(config.epochs * problem.gradients_per_epoch())))
        )
        self.ctrl[LIMIT] = -1 if self.limit is None else self.limit
        self.ctrl[GO_ON] = 1
        self.ctrl[DISCARD_AT] = config.discard_at or 0
        m, dtype = config.threads, problem.dtype
        size = problem.dim if config.momentum > 0 else 0
        self.velocity = [np.zeros(size, dtype=dtype) for _ in range(m)]
        self.applied = (
            [np.zeros(problem.dim, dtype=np.float64) for _ in range(m)] if config.check_updates else None
        )
        self._unchecked = np.zeros(0, dtype=np.float64)
        self.recorders = [Recorder(i, keep=config.record) for i in range(m)]
        mode = SLEEP if config.slow_mode == "sleep" else SPIN
        # each gradient's CPU time, which calibration needs only where threads share cores or
        # workers are slowed (and spin needs it)
        speeds = config.worker_speeds()
        clock = float(config.threads > usable_cores() or max(speeds) != 1.0)
        self.pace = [np.array([factor, mode, clock], dtype=np.float64) for factor in speeds]
        # a slowed worker's extra gradients go here (steps.slow_down); nothing for the others
        self.spare = [np.empty(problem.dim if factor != 1.0 else 0, dtype=dtype) for factor in speeds]
        self.stop = threading.Event()
        self.t0 = now()
        self.origin = np.array([self.t0])
        # Row 0 until the warm-up is complete (eta0, or a rule that needs no pmf); row 1 after.
        self.scales = np.ones((2, TABLE_SIZE))
        skip, take = config.warmup_window
        self.warm = np.zeros(max(take, 1), dtype=np.int64)
        if needs_pmf(config.rule):
            self.ctrl[WARM_SKIP], self.ctrl[WARM_TAKE] = skip, take
        else:
            self.scales[0] = config.step_scale(None, TABLE_SIZE)

    def arguments(self, worker: int, shared: Any, ws: tuple[Any, ...], grad: np.ndarray) -> tuple[Any, ...]:
        """The arguments of ``worker``'s call of its algorithm's loop (see
        :mod:`real_exec.executor.algorithms`): the algorithm's ``shared`` state, the problem's kernel
        with its data and the worker's workspace ``ws``, the run's tuple ``(ctrl, scales,
        warm, eta, momentum, check, origin)`` and the worker's ``(grad, velocity, applied,
        buffer, stats, pace, spare)``, ``grad`` its gradient buffer, ``pace`` its slowdown and
        ``spare`` where a slowed worker's extra gradients go
        (:func:`real_exec.executor.algorithms.steps.slow_down`)."""
        config, problem, rec = self.config, self.problem, self.recorders[worker]
        run = (
            self.ctrl,
            self.scales,
            self.warm,
            config.eta,
            config.momentum,
            self.applied is not None,
            self.origin,
        )
        mine = (
            grad,
            self.velocity[worker],
            self.applied_sum(worker),
            rec.buffer,
            rec.stats,
            self.pace[worker],
            self.spare[worker],
        )
        return (*shared.arguments(worker), problem.kernel, problem.data, ws, run, mine)

    def gradient_buffer(self, worker: int, shared: Any) -> np.ndarray:
        """Where ``worker``'s loop writes its gradients: the algorithm's own row when its
        state has one (synchronous SGD averages them), else a new vector."""
        own = getattr(shared, "gradient_buffer", None)
        return own(worker) if own is not None else np.empty(self.problem.dim, dtype=self.problem.dtype)

    def applied_sum(self, worker: int) -> np.ndarray:
        """The worker's sum of applied steps (an empty array when updates are not checked)."""
        return self._unchecked if self.applied is None else self.applied[worker]

    def halt(self) -> None:
        """Stop every worker before its next gradient."""
        self.ctrl[STOP] = 1
        self.stop.set()

    @property
    def halted(self) -> bool:
        return self.stop.is_set() or bool(self.ctrl[STOP])

    def ready(self) -> int:
        """Workers waiting at the start gate."""
        return int(self.ctrl[READY])

    def open_gate(self) -> None:
        """Start the clock and let every worker go."""
        self.t0 = self.origin[0] = now()
        self.ctrl[GATE] = 1

    def now(self) -> float:
        return now() - self.t0

    def counted(self) -> int:
        """Gradients computed so far, over all workers."""
        return sum(len(r) for r in self.recorders)

    @property
    def peak_live(self) -> int:
        return max(1, *(int(r.stats[PEAK]) for r in self.recorders))

    def end_warmup(self) -> None:
        """Fix the rule's table from the warm-up sample and switch the workers to it."""
        self.scales[1] = self.config.step_scale(Empirical.from_samples(self.warm), TABLE_SIZE)
        self.ctrl[TABLE] = 1
