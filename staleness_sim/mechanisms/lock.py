"""Lock-based AsyncSGD: one mutex around the read-copy and around the apply.

A worker takes the lock, copies the shared vector (read time plus one vector copy),
releases it, computes its gradient on the private copy, takes the lock again and applies
the update (publish time plus one vector pass). A lock that passes to a waiting worker
costs ``lock_handoff`` seconds. At most one update is applied at a time, so throughput
saturates at ``1 / (publish + copy)``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy
from simpy.resources.resource import Request

from staleness_sim.sim_context import SimContext

__all__ = ["lock_worker"]


def _acquire(ctx: SimContext, i: int, lock: simpy.Resource) -> Generator[simpy.Event, Any, Request]:
    req = lock.request()
    contended = not req.triggered
    if contended:
        ctx.block(i)  # a thread waiting for a mutex sleeps and gives up its core
    yield req
    if contended and ctx.profile.lock_handoff > 0:
        yield ctx.env.timeout(ctx.profile.lock_handoff)
    return req


def lock_worker(ctx: SimContext, i: int, lock: simpy.Resource) -> Generator[simpy.Event, Any, None]:
    env, t = ctx.env, ctx.timing[i]
    while True:
        req = yield from _acquire(ctx, i, lock)
        t_read, read_version = env.now, ctx.version
        yield from ctx.busy(i, t.read() + t.memory)
        lock.release(req)
        ctx.memory_changed()
        ctx.private_copies += 1
        ctx.memory_settled()
        yield from ctx.busy(i, t.compute())
        t_done = env.now
        req = yield from _acquire(ctx, i, lock)
        yield from ctx.busy(i, t.publish() + t.memory)
        ctx.version += 1
        lock.release(req)
        ctx.memory_changed()
        ctx.private_copies -= 1
        ctx.memory_settled()
        ctx.record(i, read_version, ctx.version, t_read, t_done, env.now, 1)
