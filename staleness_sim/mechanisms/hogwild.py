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
by no one. A share ``convoy_reversed`` of the convoy's publishes end before the one they
met instead, by the same lag; and with ``paired_window``, the gradients that two workers
begin together after a convoy are paired (:class:`Starts`), so that the later one rarely
ends first.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from staleness_sim.durations import coupling_stream
from staleness_sim.sim_context import SimContext

__all__ = ["Starts", "Writes", "hogwild_state", "hogwild_worker"]


class Writes:
    """The publish under way that ends last: its worker, start and end; ``rng`` decides
    which convoy publishes end first (the profile's ``convoy_reversed``)."""

    def __init__(self, reversed_share: float = 0.0, rng: np.random.Generator | None = None) -> None:
        self.worker, self.start, self.end = -1, 0.0, -1.0
        self.reversed_share, self.rng = reversed_share, rng

    def begin(self, worker: int, now: float, duration: float, convoy: float) -> float:
        """The duration of ``worker``'s publish begun ``now`` that would take ``duration``
        alone: behind another worker's under way, it ends with it plus ``convoy`` times
        the share of that one already done (or, a ``reversed_share`` of the time, that much
        before it, not before ``now``)."""
        if convoy > 0 and now < self.end and worker != self.worker:
            lag = convoy * (now - self.start) / (self.end - self.start)
            if self.reversed_share > 0 and self.rng is not None and self.rng.random() < self.reversed_share:
                return max(self.end - lag - now, 0.0)  # ends first: the last one is still the other
            duration = self.end + lag - now
        if now + duration > self.end:
            self.worker, self.start, self.end = worker, now, now + duration
        return duration


class Starts:
    """The gradient begun last that was not paired: its worker, start and drawn time.

    A gradient that ``worker`` begins ``now``, within ``window`` seconds after another
    worker's unpaired one, is paired with it: it takes that gradient's time times a
    ``ratio`` draw times ``speeds[worker] / speeds[other]``, instead of its own ``duration``
    (the profile's ``paired_window`` and ``paired_ratio``)."""

    def __init__(self, window: float, ratio: Any, speeds: np.ndarray, rng: np.random.Generator) -> None:
        self.window, self.ratio, self.speeds, self.rng = window, ratio, speeds, rng
        self.worker, self.start, self.duration = -1, -np.inf, 0.0

    def begin(self, worker: int, now: float, duration: float) -> float:
        """The time of ``worker``'s gradient begun ``now`` whose own draw is ``duration``."""
        if worker != self.worker and now - self.start < self.window:
            ratio = float(self.ratio.rvs(1, random_state=self.rng)[0])
            return self.duration * ratio * float(self.speeds[worker] / self.speeds[self.worker])
        self.worker, self.start, self.duration = worker, now, duration
        return duration


def hogwild_state(ctx: SimContext, seed: int) -> tuple[Writes, Starts | None]:
    """What a run's HOGWILD! workers share: the publishes under way, and (with the profile's
    ``paired_window`` and a convoy) the gradient to pair with; their draws from the run's
    coupling stream."""
    p = ctx.profile
    rng = coupling_stream(seed)
    writes = Writes(p.convoy_reversed, rng)
    if p.paired_window <= 0 or p.convoy <= 0:
        return writes, None
    return writes, Starts(p.paired_window, p.paired_ratio, p.speeds(ctx.workers), rng)


def hogwild_worker(
    ctx: SimContext, i: int, writes: Writes | None = None, starts: Starts | None = None
) -> Generator[simpy.Event, Any, None]:
    env, t = ctx.env, ctx.timing[i]
    timeout = env.timeout
    fast = ctx.cores is None and ctx.gil is None
    convoy = ctx.profile.convoy if writes is not None and ctx.gil is None else 0.0
    if convoy <= 0:
        starts = None
    while True:
        t_read, read_version = env.now, ctx.version
        if fast:  # the hot path: no core contention, zero-cost phases skipped
            d = t.read()
            if d > 0:
                yield timeout(d)
            if convoy > 0:  # the read phase is the loop's work before it reads the version
                t_read, read_version = env.now, ctx.version
            d = t.compute()
            if starts is not None:
                d = starts.begin(i, env.now, d)
            yield timeout(d)
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
            d = t.compute()
            if starts is not None:  # the paired gradient's time on a core
                d = starts.begin(i, env.now, d)
            yield from ctx.busy(i, d)
            t_done = env.now
            d = t.publish() + t.memory
            if convoy > 0:  # on a core shared in turns, the publish's time on the core
                d = writes.begin(i, env.now, d, convoy)  # type: ignore[union-attr]
            yield from ctx.interpreted(i, d)
        ctx.version += 1
        ctx.record(i, read_version, ctx.version, t_read, t_done, env.now, 1)
