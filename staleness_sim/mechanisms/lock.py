"""Lock-based AsyncSGD: one mutex around the read-copy and around the apply.

A worker takes the mutex, copies the shared vector (read time plus one vector copy),
releases it, computes its gradient on the private copy, takes the mutex again and applies
the update (publish time plus one vector pass). At most one update is applied at a time, so
throughput saturates at ``1 / (publish + copy)``; how close it gets depends on the mutex's
hand-off policy (:mod:`staleness_sim.mechanisms.mutex`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from staleness_sim.mechanisms.mutex import Mutex
from staleness_sim.sim_context import SimContext

__all__ = ["lock_worker"]


def lock_worker(ctx: SimContext, i: int, lock: Mutex) -> Generator[simpy.Event, Any, None]:
    env, t = ctx.env, ctx.timing[i]
    while True:
        yield from lock.acquire(i)
        t_read, read_version = env.now, ctx.version
        yield from ctx.interpreted(i, t.read() + t.memory)
        lock.release(i)
        ctx.memory_changed()
        ctx.private_copies += 1
        ctx.memory_settled()
        yield from ctx.busy(i, t.compute())
        t_done = env.now
        yield from lock.acquire(i)
        yield from ctx.interpreted(i, t.publish() + t.memory)
        ctx.version += 1
        lock.release(i)
        ctx.memory_changed()
        ctx.private_copies -= 1
        ctx.memory_settled()
        ctx.record(i, read_version, ctx.version, t_read, t_done, env.now, 1)
