"""Synchronous parallel SGD: a barrier per round and one averaged update.

All workers read the same version, compute, and wait at the barrier; the last to arrive
applies the averaged update (publish time plus one vector pass) and releases the others.
Every gradient has staleness 0; a round takes as long as its slowest worker.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from staleness_sim.sim_context import SimContext

__all__ = ["SyncBarrier", "sync_worker"]


class SyncBarrier:
    """A reusable barrier for ``parties`` workers; the last arrival runs the round's update."""

    def __init__(self, env: simpy.Environment, parties: int) -> None:
        self.env, self.parties = env, parties
        self.arrived: list[tuple[int, int, float, float]] = []
        self.released = env.event()


def sync_worker(ctx: SimContext, i: int, barrier: SyncBarrier) -> Generator[simpy.Event, Any, None]:
    env, t = ctx.env, ctx.timing[i]
    while True:
        t_read, read_version = env.now, ctx.version
        yield from ctx.interpreted(i, t.read())
        yield from ctx.busy(i, t.compute())
        barrier.arrived.append((i, read_version, t_read, env.now))
        if len(barrier.arrived) < barrier.parties:
            yield from ctx.spin(i, barrier.released)  # the real waiters spin on sched_yield
            continue
        yield from ctx.interpreted(i, t.publish() + t.memory)
        ctx.version += 1
        rows, barrier.arrived = barrier.arrived, []
        released, barrier.released = barrier.released, env.event()
        for worker, version, started, done in sorted(rows):
            ctx.record(worker, version, ctx.version, started, done, env.now, 1)
        released.succeed()
