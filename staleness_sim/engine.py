"""Run a simulated execution with the SimPy engine or the vectorized fast engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import simpy

from staleness_sim.context import SimContext
from staleness_sim.mechanisms import SyncBarrier, hogwild_worker, leashed_worker, lock_worker, sync_worker
from staleness_sim.profile import HardwareProfile
from staleness_sim.result import SimResult
from theory.trace import Trace

__all__ = ["ALGORITHMS", "SimConfig", "simulate"]

ALGORITHMS = ("lock", "hogwild", "leashed", "sync")
Engine = Literal["simpy", "fast"]


@dataclass(frozen=True)
class SimConfig:
    """One simulated execution: algorithm, workers, hardware, length and seed."""

    algo: str
    workers: int
    profile: HardwareProfile
    gradients: int = 10_000
    seed: int = 0
    persistence: int | None = None

    def __post_init__(self) -> None:
        if self.algo not in ALGORITHMS:
            raise ValueError(f"algo must be one of {', '.join(ALGORITHMS)}, got {self.algo!r}")
        if not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be an integer >= 1, got {self.workers!r}")
        if not isinstance(self.gradients, int) or self.gradients < 1:
            raise ValueError(f"updates must be an integer >= 1, got {self.gradients!r}")
        if self.persistence is not None and self.persistence < 1:
            raise ValueError(f"persistence must be >= 1, got {self.persistence}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")

    def meta(self) -> dict[str, Any]:
        return {
            "algorithm": self.algo,
            "workers": self.workers,
            "seed": self.seed,
            "persistence": self.persistence,
            "profile": self.profile.to_dict(),
            "source": "simulated",
        }


def simulate(
    config: SimConfig, engine: Engine = "simpy", progress: Callable[[int], None] | None = None
) -> SimResult:
    """Simulate ``config``; the same config and engine give the same Trace, bit for bit.

    ``progress``, if given, is called with the number of gradients recorded so far.
    """
    if engine == "fast":
        from staleness_sim.fast import simulate_fast

        return simulate_fast(config)
    if engine != "simpy":
        raise ValueError(f"engine must be 'simpy' or 'fast', got {engine!r}")
    env = simpy.Environment()
    ctx = SimContext(env, config.profile, config.workers, config.gradients, config.seed)
    _start_workers(ctx, config)
    if progress is None:
        env.run(until=ctx.done)
    else:
        interval = _probe_interval(config)
        while not ctx.done.triggered:
            env.run(until=simpy.AnyOf(env, [ctx.done, env.timeout(interval)]))
            progress(min(len(ctx.columns["worker"]), config.gradients))
    columns = {k: np.asarray(v[: config.gradients]) for k, v in ctx.columns.items()}
    n = columns["worker"].size
    columns["step_size"] = np.full(n, np.nan)
    trace = Trace.from_columns(meta=config.meta() | {"engine": "simpy"}, **columns)
    return SimResult(trace, "simpy", config.seed, ctx.peak_live, ctx.mean_live())


def _probe_interval(config: SimConfig) -> float:
    """Simulated seconds between progress reports: about 1% of the expected run."""
    mean = float(config.profile.compute.mean()) * max(1.0, max(config.profile.speed))
    return max(mean * config.gradients / config.workers / 100.0, 1e-12)


def _start_workers(ctx: SimContext, config: SimConfig) -> None:
    env = ctx.env
    if config.algo == "hogwild":
        for i in range(config.workers):
            env.process(hogwild_worker(ctx, i))
    elif config.algo == "lock":
        lock = simpy.Resource(env, capacity=1)
        for i in range(config.workers):
            env.process(lock_worker(ctx, i, lock))
    elif config.algo == "leashed":
        for i in range(config.workers):
            env.process(leashed_worker(ctx, i, config.persistence))
    else:
        barrier = SyncBarrier(env, config.workers)
        for i in range(config.workers):
            env.process(sync_worker(ctx, i, barrier))
