"""Cores with a run queue each, as Linux schedules threads that outnumber the cores.

Linux keeps one queue of runnable threads per core, not one for the machine: three busy
threads on two cores settle as two sharing one core (taking turns, a time slice each) and
one alone on the other, until the load balancer moves one. So a thread that loses its
core waits for its partner's slice, not for whichever core frees first, and the staleness
of the gradient it was computing counts the publishes of a whole slice of its partner and
of the thread alone meanwhile.

:class:`RunQueues` gives each worker a home core (worker ``i`` starts on core ``i mod
cores``). A worker asking for a core gets its home core if it is idle, else any idle core
(which becomes its home: a woken thread is placed on an idle core, and an idle core pulls
waiting threads), else it waits in its home core's queue: at the back, or, woken from a
lock wait, ahead of every worker not woken (wake-up preemption, :meth:`urgent`). A core
that is released goes to the first worker of its queue, or, if none waits there, to the
first worker of the longest other queue (an idle core pulls work, Linux's idle balancing).

A worker that waits by spinning on ``sched_yield`` (the barrier of synchronous SGD) stays
runnable: it keeps its core, so that no idle core pulls a queued worker onto it, and it
gives the core up as soon as a worker that is not spinning waits for it (:meth:`wanted`).
"""

from __future__ import annotations

from collections import deque

import simpy

__all__ = ["RunQueues"]


class RunQueues:
    """``cores`` cores, each running one worker at a time, with a queue each."""

    def __init__(self, env: simpy.Environment, cores: int) -> None:
        self.env = env
        self.running: list[int | None] = [None] * cores
        self._queues: list[deque[tuple[int, bool, simpy.Event]]] = [deque() for _ in range(cores)]
        self.spinning: set[int] = set()  # workers waiting by spinning on sched_yield
        self._wanted: list[simpy.Event | None] = [None] * cores  # see wanted()

    def request(self, worker: int, home: int, woken: bool) -> simpy.Event:
        """An event whose value is the core the worker gets (its new home)."""
        event = self.env.event()
        idle = [c for c, w in enumerate(self.running) if w is None]
        if idle:
            core = home if home in idle else idle[0]
            self.running[core] = worker
            event.succeed(core)
            return event
        queue = self._queues[home]
        entry = (worker, woken, event)
        if woken:  # behind the other woken workers, ahead of the rest
            queue.insert(sum(1 for _, w, _ in queue if w), entry)
        else:
            queue.append(entry)
        if worker not in self.spinning:
            self._want(home)
        return event

    def spin_until(self, worker: int, event: simpy.Event) -> None:
        """The worker spins until ``event`` triggers; then :meth:`stop_spinning`."""
        self.spinning.add(worker)
        event.callbacks.append(lambda _: self.stop_spinning(worker))

    def stop_spinning(self, worker: int) -> None:
        """The worker no longer spins: if it waits for a core, the core is wanted."""
        self.spinning.discard(worker)
        for core, queue in enumerate(self._queues):
            if any(w == worker for w, _, _ in queue):
                self._want(core)

    def _want(self, core: int) -> None:
        wanted, self._wanted[core] = self._wanted[core], None
        if wanted is not None:
            wanted.succeed()

    def release(self, core: int) -> None:
        """The worker on ``core`` gives it up: to the next worker of its queue, or of the
        longest other queue."""
        self.running[core] = None
        source = core
        if not self._queues[core]:
            source = max(range(len(self._queues)), key=lambda c: len(self._queues[c]))
            if not self._queues[source]:
                return
        worker, _, event = self._queues[source].popleft()
        self.running[core] = worker
        event.succeed(core)

    def waiting(self, core: int) -> bool:
        """Whether a worker waits in ``core``'s queue."""
        return bool(self._queues[core])

    def wanted(self, core: int) -> simpy.Event:
        """An event that triggers once a worker that is not spinning waits for ``core``
        (triggered already if one does)."""
        if any(w not in self.spinning for w, _, _ in self._queues[core]):
            event = self.env.event()
            event.succeed()
            return event
        wanted = self._wanted[core]
        if wanted is None:
            wanted = self._wanted[core] = self.env.event()
        return wanted

    def urgent(self, core: int) -> bool:
        """Whether a worker woken from a lock wait waits for ``core``."""
        queue = self._queues[core]
        return bool(queue) and queue[0][1]
