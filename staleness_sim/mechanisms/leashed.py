"""Leashed-SGD (Backstrom et al., IPDPS 2021): consistent, lock-free, with a persistence bound.

A worker reads the latest version by reference (holding it, no copy), computes its
gradient, and releases it. A publish attempt first spends the fraction ``1 - cas_window`` of
its publish time on work that does not depend on the latest version (in real runs: the
interpreter between kernels, finding a free slot), then reads the latest version ``L``
(holding it), builds ``L - eta g`` (the rest of the publish time plus one vector copy) and
tries to install it with a compare-and-swap (``cas_latency``). An attempt's publish time is
the profile's ``publish_cached`` for a first attempt on the version the worker read, its
``publish_retry`` after a failed attempt, ``publish`` otherwise
(:meth:`~staleness_sim.durations.WorkerTiming.attempt`). The CAS fails if another
publish landed since the attempt read ``L``; the worker then retries on the newer version, up
to ``persistence`` attempts in all, after which the gradient is dropped. A version is freed when it is not the
latest and no worker holds it; at most ``2 m + 1`` vectors are ever live.

With the profile's ``stall``, a gradient that begins while another worker publishes, or
sees one begin within its first ``stall_window`` seconds, takes ``stall`` seconds longer, times
the worker's ``speed`` (the stall is part of the gradient's own time, which a slow worker
takes that many times as long)
(:class:`Publishes`); where workers time-share the cores, seconds on a core.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from staleness_sim.sim_context import SimContext

__all__ = ["Publishes", "leashed_worker"]


class Publishes:
    """The publishes under way, and an event that fires when one begins: what the profile's
    ``stall`` needs to know of the other workers."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env, self.under_way, self.began, self.begun = env, 0, env.event(), 0

    def begin(self) -> None:
        self.under_way += 1
        self.begun += 1
        began, self.began = self.began, self.env.event()
        began.succeed()

    def end(self) -> None:
        self.under_way -= 1

    def gradient(self, duration: float, stall: float, window: float) -> Generator[simpy.Event, Any, None]:
        """Compute for ``duration`` seconds, ``stall`` more if another worker is publishing
        now or begins to within ``window`` seconds (the caller is not publishing)."""
        env = self.env
        end = env.now + duration
        if self.under_way > 0:
            end += stall
        else:
            until = env.now + window
            while env.now < until and env.now < end:
                done = env.timeout(min(until, end) - env.now)
                yield done | self.began
                if not done.processed:  # a publish began within the window
                    end += stall
                    break
        if end > env.now:
            yield env.timeout(end - env.now)

    def gradient_on_shared_cores(
        self, ctx: SimContext, i: int, duration: float, stall: float, window: float
    ) -> Generator[simpy.Event, Any, None]:
        """:meth:`gradient` where workers time-share the cores: ``duration`` and the stall are
        time on a core; a publish that begins while the first ``window`` seconds of the
        gradient run (on the core or waiting for it) stalls it."""
        begun, stalled = self.begun, self.under_way > 0
        first = min(window, duration)
        yield from ctx.busy(i, first)
        stalled = stalled or self.begun > begun
        yield from ctx.busy(i, duration - first + (stall if stalled else 0.0))


def leashed_worker(
    ctx: SimContext, i: int, persistence: int | None, publishes: Publishes | None = None
) -> Generator[simpy.Event, Any, None]:
    env, t, cas, window = ctx.env, ctx.timing[i], ctx.profile.cas_latency, ctx.profile.cas_window
    stall = ctx.profile.stall if publishes is not None and ctx.gil is None else 0.0
    stall *= float(ctx.profile.speeds(ctx.workers)[i])
    shared = ctx.cores is not None
    while True:
        t_read, read_version = env.now, ctx.version
        ctx.hold(read_version, +1)
        yield from ctx.interpreted(i, t.read())
        if stall > 0 and shared:
            yield from publishes.gradient_on_shared_cores(  # type: ignore[union-attr]
                ctx, i, t.compute(), stall, ctx.profile.stall_window
            )
        elif stall > 0:
            yield from publishes.gradient(t.compute(), stall, ctx.profile.stall_window)  # type: ignore[union-attr]
        else:
            yield from ctx.busy(i, t.compute())
        t_done = env.now
        ctx.hold(read_version, -1)
        attempts, published = 0, False
        if stall > 0:
            publishes.begin()  # type: ignore[union-attr]
        while persistence is None or attempts < persistence:
            attempts += 1
            publish = t.attempt(attempts == 1, ctx.version == read_version)
            outside = (1.0 - window) * publish  # before the attempt reads the latest version
            if outside > 0:
                yield from ctx.interpreted(i, outside)
            base = ctx.version
            ctx.hold(base, +1)
            ctx.memory_changed()
            ctx.building += 1
            ctx.memory_settled()
            yield from ctx.busy(i, publish - outside + t.memory)
            if cas > 0:
                yield env.timeout(cas)
            ctx.memory_changed()
            ctx.building -= 1
            if ctx.version == base:  # the CAS succeeds: the new vector becomes the latest
                ctx.version += 1
                published = True
            ctx.memory_settled()
            ctx.hold(base, -1)
            if published:
                break
        if stall > 0:
            publishes.end()  # type: ignore[union-attr]
        ctx.record(i, read_version, ctx.version if published else -1, t_read, t_done, env.now, attempts)
