"""Leashed-SGD (Backstrom et al., IPDPS 2021): consistent, lock-free, with a persistence bound.

A worker reads the latest version by reference (holding it, no copy), computes its
gradient, and releases it. A publish attempt first spends the fraction ``1 - cas_window`` of
its publish time on work that does not depend on the latest version (in real runs: the
interpreter between kernels, finding a free slot), then reads the latest version ``L``
(holding it), builds ``L - eta g`` (the rest of the publish time plus one vector copy) and
tries to install it with a compare-and-swap (``cas_latency``). The CAS fails if another
publish landed since the attempt read ``L``; the worker then retries on the newer version, up
to ``persistence`` attempts in all, after which the gradient is dropped. A version is freed when it is not the
latest and no worker holds it; at most ``2 m + 1`` vectors are ever live.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from staleness_sim.sim_context import SimContext

__all__ = ["leashed_worker"]


def leashed_worker(ctx: SimContext, i: int, persistence: int | None) -> Generator[simpy.Event, Any, None]:
    env, t, cas, window = ctx.env, ctx.timing[i], ctx.profile.cas_latency, ctx.profile.cas_window
    while True:
        t_read, read_version = env.now, ctx.version
        ctx.hold(read_version, +1)
        yield from ctx.interpreted(i, t.read())
        yield from ctx.busy(i, t.compute())
        t_done = env.now
        ctx.hold(read_version, -1)
        attempts, published = 0, False
        while persistence is None or attempts < persistence:
            attempts += 1
            publish = t.publish()
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
        ctx.record(i, read_version, ctx.version if published else -1, t_read, t_done, env.now, attempts)
