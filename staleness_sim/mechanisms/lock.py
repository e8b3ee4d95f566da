"""Lock-based AsyncSGD: one mutex around the read-copy and around the apply.

A worker takes the mutex, copies the shared vector (read time plus one vector copy),
releases it, computes its gradient on the private copy, takes the mutex again and applies
the update (publish time plus one vector pass). A worker whose update follows its own read
directly (nothing published in between) writes the new vector into its copy in the same
pass, and a read that finds the version its copy already equals copies nothing: on one
worker, no read copies after the first. At most one update is applied at a time, so
throughput saturates at ``1 / (publish + copy)``; how close it gets depends on the mutex's
hand-off policy (:mod:`staleness_sim.mechanisms.mutex`). With the profile's ``interpreted``
seconds per gradient, half runs before the worker asks for the mutex to read and half after
its gradient, under the GIL when the profile has one (threads of an interpreter take turns
there, and a thread waiting for the GIL gives its core away).

With a ``threshold`` ``R`` it is Ringmaster ASGD's: a gradient whose delay has reached
``R`` is thrown away under the mutex (the version does not move), and with ``abandon`` the
worker stops computing it the moment the version has moved ``R`` times since its read.
With a :class:`StepBatch` the same worker is Rennala SGD's (:mod:`theory.rennala`): under
the mutex, a gradient of the current version is added to the step's batch (publish time
plus one vector pass) and the batch's ``S``-th one makes the step; a gradient of an older
version is thrown away at once.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from staleness_sim.mechanisms.mutex import Mutex
from staleness_sim.sim_context import SimContext

__all__ = ["StepBatch", "lock_worker"]


class StepBatch:
    """Rennala SGD's batch: how many gradients the step under way has, out of ``size``."""

    def __init__(self, size: int) -> None:
        self.size, self.count = size, 0

    def add(self) -> bool:
        """One more gradient; True (and an empty batch) when it completes the step."""
        self.count += 1
        if self.count < self.size:
            return False
        self.count = 0
        return True


def lock_worker(
    ctx: SimContext,
    i: int,
    lock: Mutex,
    batch: StepBatch | None = None,
    threshold: int | None = None,
    abandon: bool = False,
) -> Generator[simpy.Event, Any, None]:
    env, t = ctx.env, ctx.timing[i]
    outside = 0.5 * ctx.profile.interpreted  # interpreted code before the read, after the gradient
    held = -1  # the version that the worker's private copy equals
    while True:
        if outside > 0:
            yield from ctx.interpreted(i, outside)
        yield from lock.acquire(i)
        t_read, read_version = env.now, ctx.version
        copy = t.memory if held != read_version else 0.0
        yield from ctx.busy(i, t.read() + copy)  # a compiled copy: no GIL
        held = read_version
        lock.release(i)
        ctx.memory_changed()
        ctx.private_copies += 1
        ctx.memory_settled()
        if abandon and threshold is not None:  # Ringmaster's stopping variant
            done, moved = env.timeout(t.compute()), ctx.version_reached(read_version + threshold)
            yield done | moved
            if not done.processed and moved.triggered:  # the version moved R times: give up
                ctx.memory_changed()
                ctx.private_copies -= 1
                ctx.memory_settled()
                ctx.record(i, read_version, -1, t_read, env.now, env.now, 0)
                continue
        else:
            yield from ctx.busy(i, t.compute())
        if outside > 0:
            yield from ctx.interpreted(i, outside)
        t_done = env.now
        yield from lock.acquire(i)
        kept = batch is None or ctx.version == read_version
        if threshold is not None:
            kept = ctx.version - read_version < threshold
        if kept:
            yield from ctx.busy(i, t.publish() + t.memory)  # a compiled update: no GIL
        if kept and (batch is None or batch.add()):
            if batch is None and ctx.version == read_version:  # the apply refreshed its copy
                held = read_version + 1
            ctx.version += 1
            if abandon:  # wake the workers that give up at this version
                ctx.published()
        lock.release(i)
        ctx.memory_changed()
        ctx.private_copies -= 1
        ctx.memory_settled()
        applied = -1 if not kept else ctx.version if batch is None else read_version + 1
        ctx.record(i, read_version, applied, t_read, t_done, env.now, 1 if kept else 0)  # no attempt
