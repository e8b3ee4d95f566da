"""Lock-based AsyncSGD: one mutex around the read-copy and around the apply.

A worker takes the mutex, copies the shared vector (read time plus one vector copy),
releases it, computes its gradient on the private copy, takes the mutex again and applies
the update (publish time plus one vector pass). At most one update is applied at a time, so
throughput saturates at ``1 / (publish + copy)``; how close it gets depends on the mutex's
hand-off policy (:mod:`staleness_sim.mechanisms.mutex`). With the profile's ``interpreted``
seconds per gradient, half runs before the worker asks for the mutex to read and half after
its gradient, under the GIL when the profile has one (threads of an interpreter take turns
there, and a thread waiting for the GIL gives its core away).
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
    outside = 0.5 * ctx.profile.interpreted  # interpreted code before the read, after the gradient
    while True:
        if outside > 0:
            yield from ctx.interpreted(i, outside)
        yield from lock.acquire(i)
        t_read, read_version = env.now, ctx.version
        yield from ctx.busy(i, t.read() + t.memory)  # a compiled copy: no GIL
        lock.release(i)
        ctx.memory_changed()
        ctx.private_copies += 1
        ctx.memory_settled()
        yield from ctx.busy(i, t.compute())
        if outside > 0:
            yield from ctx.interpreted(i, outside)
        t_done = env.now
        yield from lock.acquire(i)
        yield from ctx.busy(i, t.publish() + t.memory)  # a compiled update: no GIL
        ctx.version += 1
        lock.release(i)
        ctx.memory_changed()
        ctx.private_copies -= 1
        ctx.memory_settled()
        ctx.record(i, read_version, ctx.version, t_read, t_done, env.now, 1)
