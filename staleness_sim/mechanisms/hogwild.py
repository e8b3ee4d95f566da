"""HOGWILD! (Niu et al., NeurIPS 2011): no synchronization at all.

A worker reads the live shared vector (no copy), computes a gradient on it and adds the
update in place. Staleness is sampled as the version at the start of the read; the update
counts as published when its in-place write ends.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from staleness_sim.sim_context import SimContext

__all__ = ["hogwild_worker"]


def hogwild_worker(ctx: SimContext, i: int) -> Generator[simpy.Event, Any, None]:
    env, t = ctx.env, ctx.timing[i]
    timeout = env.timeout
    fast = ctx.cores is None and ctx.gil is None
    while True:
        t_read, read_version = env.now, ctx.version
        if fast:  # the hot path: no core contention, zero-cost phases skipped
            d = t.read()
            if d > 0:
                yield timeout(d)
            yield timeout(t.compute())
            t_done = env.now
            d = t.publish() + t.memory
            if d > 0:
                yield timeout(d)
        else:
            yield from ctx.interpreted(i, t.read())
            yield from ctx.busy(i, t.compute())
            t_done = env.now
            yield from ctx.interpreted(i, t.publish() + t.memory)
        ctx.version += 1
        ctx.record(i, read_version, ctx.version, t_read, t_done, env.now, 1)
