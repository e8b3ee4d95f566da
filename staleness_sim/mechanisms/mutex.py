"""A mutex with a hand-off policy: ``barging`` (real mutexes) or ``fifo`` (a ticket lock).

``fifo``: ``release`` hands the mutex to the longest-waiting worker, who holds it while its
wake-up (``lock_handoff`` seconds) passes. A worker that asks while others wait queues
behind them, so with constant timings the workers move in a convoy: all publish, all read,
all compute. 16 workers with compute 1 and publish 0.1 make 16 / (16 x 0.1 + 1) = 6.15
updates per unit time, below the mutex's capacity of 10.

``barging``: how pthread mutexes, ``std::mutex`` and CPython's ``threading.Lock`` behave.
``release`` frees the mutex and wakes the longest-waiting sleeper; waking takes
``lock_handoff`` seconds, after which the sleeper tries again and, if another worker took the
mutex meanwhile, sleeps again at the head of the queue. A running worker that asks for a free
mutex gets it at once, even while sleepers wait: the releasing worker usually re-acquires
before a sleeper has woken up (Drepper, "Futexes are tricky", 2011; glibc's
``pthread_mutex_lock``). The workers settle out of step, and the same 16 workers keep the
mutex busy: 10 updates per unit time.

A worker that has to wait sleeps and gives its core away (:meth:`SimContext.block`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import Any

import simpy

from staleness_sim.sim_context import SimContext

__all__ = ["Mutex"]


class Mutex:
    """One mutex shared by the workers of ``ctx``; policy and wake-up latency from
    ``ctx.profile`` (``lock_policy``, ``lock_handoff``) unless given."""

    def __init__(
        self, ctx: SimContext, policy: str | None = None, handoff: float | None = None, wakeup: bool = True
    ) -> None:
        self.ctx = ctx
        self.wakeup = wakeup  # a woken waiter preempts a running worker for a core
        ctx.wakeups = ctx.wakeups or wakeup
        self.fifo = (policy or ctx.profile.lock_policy) == "fifo"
        self.handoff = ctx.profile.lock_handoff if handoff is None else handoff
        self.owner: int | None = None
        self.sleepers: deque[tuple[int, simpy.Event]] = deque()

    def acquire(self, i: int) -> Generator[simpy.Event, Any, None]:
        """Take the mutex for worker ``i`` (``yield from``)."""
        env, handoff = self.ctx.env, self.handoff
        yield from self.ctx.on_core(i)  # asking for it takes a core (time slices)
        if self.owner is None and not (self.fifo and self.sleepers):
            self.owner = i
            if self.fifo:  # a ticket is taken and checked: others asking at this instant queue
                yield env.timeout(0)
            return
        self.ctx.block(i)  # a thread waiting for a mutex sleeps and gives up its core
        woken = env.event()
        self.sleepers.append((i, woken))
        while True:
            yield woken
            if self.wakeup:
                self.ctx.woke(i)
            if handoff > 0:
                yield env.timeout(handoff)
            yield from self.ctx.on_core(i)  # trying the lock again needs a core
            if self.fifo or self.owner is None:  # fifo: the mutex was handed over at release
                self.owner = i
                return
            woken = env.event()
            self.sleepers.appendleft((i, woken))  # lost the race: first in line again
            self.ctx.block(i)

    def release(self, i: int) -> None:
        """Worker ``i`` releases the mutex; the longest-waiting sleeper is woken."""
        if self.owner != i:
            raise RuntimeError(f"worker {i} releases a mutex held by {self.owner}")
        self.owner = None
        if self.sleepers:
            j, woken = self.sleepers.popleft()
            if self.fifo:
                self.owner = j
            woken.succeed()
