"""The SimPy engine: one process per worker, any algorithm, any profile.

Each worker is a generator in :mod:`staleness_sim.mechanisms` (started by its registry,
:data:`~staleness_sim.mechanisms.MECHANISMS`); they share a
:class:`~staleness_sim.sim_context.SimContext` (clock, versions, memory, records).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy

from staleness_sim.config import SimConfig
from staleness_sim.mechanisms import Mutex, start_workers
from staleness_sim.result import SimResult
from staleness_sim.sim_context import SimContext
from theory.rennala import drop_unfinished
from theory.trace import Trace

__all__ = ["simulate_simpy"]


def simulate_simpy(config: SimConfig, progress: Callable[[int], None] | None = None) -> SimResult:
    """Simulate ``config`` with SimPy; the same config gives the same Trace, bit for bit.

    ``progress``, if given, is called with the number of gradients recorded so far.
    """
    env = simpy.Environment()
    ctx = SimContext(env, config.profile, config.workers, config.gradients, config.seed)
    if config.profile.gil:  # CPython's GIL: a released GIL can be re-taken before a waiter wakes
        ctx.gil = Mutex(ctx, policy="barging", handoff=config.profile.gil_handoff, wakeup=False)
    start_workers(ctx, config)
    if progress is None:
        env.run(until=ctx.done)
    else:
        interval = _probe_interval(config)
        while not ctx.done.triggered:
            env.run(until=simpy.AnyOf(env, [ctx.done, env.timeout(interval)]))
            progress(min(len(ctx.rows), config.gradients))
    columns = ctx.columns()
    columns["step_size"] = np.full(columns["worker"].size, np.nan)
    if config.algo == "rennala" and columns["worker"].size:
        drop_unfinished(columns, config.batch)
    trace = Trace.from_columns(meta=config.meta() | {"engine": "simpy"}, **columns)
    return SimResult(trace, "simpy", config.seed, ctx.peak_live, ctx.mean_live())


def _probe_interval(config: SimConfig) -> float:
    """Simulated seconds between progress reports: about 1% of the expected run."""
    mean = float(config.profile.compute.mean()) * max(1.0, max(config.profile.speed))
    return max(mean * config.gradients / config.workers / 100.0, 1e-12)
