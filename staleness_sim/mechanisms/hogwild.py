"""HOGWILD! (Niu et al., NeurIPS 2011): no synchronization at all.

A worker reads the live shared vector (no copy), computes a gradient on it and adds the
update in place. Staleness is sampled as the version at the start of the read; the update
counts as published when its in-place write ends.

With the profile's ``convoy``, a publish that begins while another worker's is under way
ends with it, plus ``convoy`` times the share of the other's publish already done
(:mod:`staleness_sim.profile`): :class:`Writes` keeps the publish that ends last; where
workers time-share the cores, the publish so lengthened is time on a core. Such a profile
is calibrated on a real run, whose read phase is the loop's work between a publish and the
next read of the version (HOGWILD! copies nothing): the version is then sampled at the end
of the read phase, as the real loop reads it, so that a publish landing in that gap is seen
by no one.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from staleness_sim.sim_context import SimContext

__all__ = ["Writes", "hogwild_worker"]


class Writes:
    """The publish under way that ends last: its worker, start and end."""

    def __init__(self) -> None:
        self.worker, self.start, self.end = -1, 0.0, -1.0

    def begin(self, worker: int, now: float, duration: float, convoy: float) -> float:
        """The duration of ``worker``'s publish begun ``now`` that would take ``duration``
        alone: behind another worker's under way, it ends with it plus ``convoy`` times
        the share of that one already done."""
        if convoy > 0 and now < self.end and worker != self.worker:
            duration = self.end + convoy * (now - self.start) / (self.end - self.start) - now
        if now + duration > self.end:
            self.worker, self.start, self.end = worker, now, now + duration
        return duration


def hogwild_worker(
    ctx: SimContext, i: int, writes: Writes | None = None
) -> Generator[simpy.Event, Any, None]:
    env, t = ctx.env, ctx.timing[i]
    timeout = env.timeout
    fast = ctx.cores is None and ctx.gil is None
    convoy = ctx.profile.convoy if writes is not None and ctx.gil is None else 0.0
    while True:
        t_read, read_version = env.now, ctx.version
        if fast:  # the hot path: no core contention, zero-cost phases skipped
            d = t.read()
            if d > 0:
                yield timeout(d)
            if convoy > 0:  # the read phase is the loop's work before it reads the version
                t_read, read_version = env.now, ctx.version
            yield timeout(t.compute())
            t_done = env.now
            d = t.publish() + t.memory
            if convoy > 0:
                d = writes.begin(i, env.now, d, convoy)  # type: ignore[union-attr]
            if d > 0:
                yield timeout(d)
        else:
            yield from ctx.interpreted(i, t.read())
            if convoy > 0:
                t_read, read_version = env.now, ctx.version
            yield from ctx.busy(i, t.compute())
            t_done = env.now
            d = t.publish() + t.memory
            if convoy > 0:  # on a core shared in turns, the publish's time on the core
                d = writes.begin(i, env.now, d, convoy)  # type: ignore[union-attr]
            yield from ctx.interpreted(i, d)
        ctx.version += 1
        ctx.record(i, read_version, ctx.version, t_read, t_done, env.now, 1)
