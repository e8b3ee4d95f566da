"""What the worker threads of one real run share: counters, stop signal, step sizes, records."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from real_exec.atomics import fetch_add
from real_exec.config import RunConfig
from real_exec.kernels import heavy_ball
from real_exec.problems import Problem
from real_exec.recorder import CountingRecorder, Recorder
from theory.staleness import Empirical

__all__ = ["RunContext"]

_TABLE = 1 << 16


class RunContext:
    """Counters, stop signal, step sizes, recorders and lost-update accumulators."""

    def __init__(self, config: RunConfig, problem: Problem) -> None:
        self.config = config
        self.problem = problem
        self.counters = np.zeros(2, dtype=np.int64)  # [0] version, [1] gradients claimed
        #: Gradients to compute in all (None: until the deadline).
        self.limit = (
            config.gradients
            if config.epochs is None
            else max(1, int(np.ceil(config.epochs * problem.gradients_per_epoch())))
        )
        self.velocity = (
            [np.zeros(problem.dim, dtype=problem.dtype) for _ in range(config.threads)]
            if config.momentum > 0
            else None
        )
        self.stop = threading.Event()
        self.t0 = time.perf_counter()
        kind = Recorder if config.record else CountingRecorder
        self.recorders = [kind(i) for i in range(config.threads)]
        self.applied = (
            [np.zeros(problem.dim, dtype=np.float64) for _ in range(config.threads)]
            if config.check_updates
            else None
        )
        self.peak_live = 1
        self.scale = np.ones(_TABLE)  # s(tau) for tau < 2^16; warm-up runs at eta0
        self._warm: list[int] = []
        self._seen = 0
        self._skip, self._take = config.warmup_window
        self._warm_lock = threading.Lock()
        self.adaptive = config.rule != "constant"
        if config.rule in ("inverse", "fleet", "exponential"):
            self._set_rule(None)
            self.adaptive = False

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def claim(self) -> bool:
        """Reserve the next gradient; False when the run is over."""
        if self.stop.is_set():
            return False
        limit = self.limit
        if limit is not None and fetch_add(self.counters, 1, 1) >= limit:
            self.stop.set()
            return False
        return True

    def direction(self, worker: int, grad: Any) -> None:
        """Turn ``grad`` into the worker's update direction in place (heavy-ball momentum,
        when the run has it)."""
        if self.velocity is not None:
            heavy_ball(self.velocity[worker], grad, self.config.momentum)

    def step(self, tau: int) -> float:
        return self.config.eta * self.scale[tau if tau < _TABLE else _TABLE - 1]

    def observe(self, tau: int) -> None:
        """Collect the warm-up's staleness (:attr:`RunConfig.warmup_window`); at its end fix
        TAIL-tau / MindTheStep."""
        if not self.adaptive:
            return
        with self._warm_lock:
            if not self.adaptive:
                return
            self._seen += 1
            if self._seen <= self._skip:
                return
            self._warm.append(max(tau, 0))
            if len(self._warm) >= self._take:
                self._set_rule(Empirical.from_samples(self._warm))
                self.adaptive = False

    def _set_rule(self, pmf: Any) -> None:
        self.scale = self.config.step_scale(pmf, _TABLE)

    def record_applied(self, worker: int, step: float, grad: Any) -> None:
        if self.applied is not None:
            self.applied[worker] += step * grad
