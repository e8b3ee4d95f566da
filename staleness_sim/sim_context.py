"""The shared state of one simulated execution: clock, parameter versions, memory, records."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from staleness_sim.durations import Durations, slice_stream
from staleness_sim.profile import HardwareProfile
from staleness_sim.run_queues import RunQueues
from theory.trace import RECORDED

__all__ = ["MIN_SLICE", "ROW", "WAKEUP_CHECKS", "SimContext", "time_averaged_live"]

#: With time slices, a running worker checks this many times per slice whether a worker woken
#: from a lock wait is waiting for a core, and then gives it its core.
WAKEUP_CHECKS = 30

#: The shortest slice a drawn one becomes (seconds), so that a worker always computes.
MIN_SLICE = 1e-6

#: The fields of :meth:`SimContext.record`, in order: the Trace's recorded columns but the
#: step size (a simulation computes no steps; SGD under the Trace adds them).
ROW: tuple[str, ...] = tuple(c for c in RECORDED if c != "step_size")


class SimContext:
    """Everything the worker processes share.

    ``version`` counts successful publishes (the initial parameters are version 0).
    ``holders[v]`` counts workers holding version ``v``; ``building`` counts vectors under
    construction; the number of live parameter vectors is integrated over time.
    """

    def __init__(
        self,
        env: simpy.Environment,
        profile: HardwareProfile,
        workers: int,
        gradients: int,
        seed: int,
    ) -> None:
        self.env = env
        self.profile = profile
        self.workers = workers
        self.target = gradients
        self.version = 0
        self.done = env.event()
        self.cores: Any = None
        if profile.cores is not None and profile.cores < workers:
            if profile.quantum is not None:
                self.cores = RunQueues(env, profile.cores)
            else:
                self.cores = simpy.Resource(env, capacity=profile.cores)
        durations = Durations.draw(profile, workers, gradients, seed)
        self.timing = [durations.worker(i) for i in range(workers)]
        self.quantum = profile.quantum
        self._held: list[int | None] = [None] * workers  # the core a worker runs on (time slices)
        self._home = [i % (profile.cores or 1) for i in range(workers)]
        self._used = [0.0] * workers
        self._slice = [profile.quantum or 0.0] * workers  # each worker's current slice
        self._slices = profile.slices if profile.quantum is not None else None
        self._slice_rng = slice_stream(seed) if self._slices is not None else None
        self._woken = [False] * workers  # woke from a lock wait: its next core request is urgent
        self.wakeups = False  # set by a mutex whose woken waiters preempt (woke())
        self.gil: Any = None  # the interpreter lock (a barging Mutex) when the profile has one
        self.rows: list[tuple[Any, ...]] = []  # one per gradient, fields as in ROW
        self._at_version: dict[int, simpy.Event] = {}  # version -> the event it triggers
        self.holders: dict[int, int] = {}
        self.building = 0
        self.private_copies = 0
        self._live_last_t = 0.0
        self._live_area = 0.0
        self.peak_live = 1

    # -- time ------------------------------------------------------------------------------
    def busy(self, worker: int, duration: float) -> Generator[simpy.Event, Any, None]:
        """Spend ``duration`` seconds of CPU time, on a core if cores are scarce.

        Without a time slice (``quantum``) each phase waits for a core and runs to completion.
        With one, a worker keeps its core across phases until its slice is used up (then it
        goes to the back of its core's queue, round robin) or it blocks (:meth:`block`), as an
        operating system's scheduler time-shares threads (:mod:`staleness_sim.run_queues`).
        """
        if self.cores is None:
            if duration > 0:
                yield self.env.timeout(duration)
            return
        if self.quantum is None:
            with self.cores.request() as req:
                yield req
                if duration > 0:
                    yield self.env.timeout(duration)
            return
        remaining = duration
        # a worker woken from a lock wait can claim a core only where a mutex wakes workers
        check = self.quantum / WAKEUP_CHECKS if self.wakeups else self.quantum
        while remaining > 0:
            if self._held[worker] is None:
                yield from self._take_core(worker)
            run = min(remaining, self._slice[worker] - self._used[worker], check)
            yield self.env.timeout(run)
            remaining -= run
            self._used[worker] += run
            core = self._held[worker]
            if self.cores.urgent(core):
                self.block(worker)  # a woken worker preempts this one
            elif self._used[worker] >= self._slice[worker] * (1 - 1e-12):
                if self.cores.waiting(core):
                    self.block(worker)  # slice used up: to the back of its core's queue
                else:
                    self._new_slice(worker)  # nobody waits for this core: a new slice

    def interpreted(self, worker: int, duration: float) -> Generator[simpy.Event, Any, None]:
        """:meth:`busy` for a phase of interpreted code: under the GIL when the profile models
        one (``gil``), so that such phases of different workers never overlap."""
        if self.gil is None:
            yield from self.busy(worker, duration)
            return
        yield from self.gil.acquire(worker)
        yield from self.busy(worker, duration)
        self.gil.release(worker)

    def _take_core(self, worker: int) -> Generator[simpy.Event, Any, None]:
        woken, self._woken[worker] = self._woken[worker], False
        core = yield self.cores.request(worker, self._home[worker], woken)
        self._held[worker] = self._home[worker] = core
        self._new_slice(worker)

    def _new_slice(self, worker: int) -> None:
        """The worker begins a slice: the quantum, or a draw of the profile's ``slices``."""
        self._used[worker] = 0.0
        if self._slices is not None and self._slice_rng is not None:
            drawn = float(self._slices.rvs(1, random_state=self._slice_rng)[0])
            self._slice[worker] = max(drawn, MIN_SLICE)

    def on_core(self, worker: int) -> Generator[simpy.Event, Any, None]:
        """With time slices: get a core if the worker has none (a thread woken from a lock
        wait must run to try the lock again). Without them, nothing."""
        if self.quantum is not None and self.cores is not None and self._held[worker] is None:
            yield from self._take_core(worker)

    def block(self, worker: int) -> None:
        """The worker waits for something else than a core: give its core back."""
        core = self._held[worker] if self.quantum is not None else None
        if core is not None and self.cores is not None:
            self._held[worker] = None
            self.cores.release(core)  # to a woken worker first

    def spin(self, worker: int, event: simpy.Event) -> Generator[simpy.Event, Any, None]:
        """Wait for ``event`` as a thread that spins on ``sched_yield``: with time slices it
        stays runnable, keeping its core while no other worker waits for it and giving it at
        once to one that does (then waiting in that core's queue for it again); it ends on a
        core. Without time slices, it waits off the cores, as :meth:`block` does."""
        if self.quantum is None or self.cores is None:
            self.block(worker)
            yield event
            return
        self.cores.spin_until(worker, event)
        while not event.triggered:
            if self._held[worker] is None:
                yield from self._take_core(worker)
                continue
            wanted = self.cores.wanted(self._held[worker])
            if wanted.triggered:
                self.block(worker)  # a worker that computes waits for this core: yield it
                continue
            yield event | wanted
        if self._held[worker] is None:
            yield from self._take_core(worker)

    def woke(self, worker: int) -> None:
        """The worker woke from a lock wait: with time slices, it preempts a running worker
        for a core (Linux's wake-up preemption), within ``quantum / WAKEUP_CHECKS``."""
        if self.quantum is not None and self.cores is not None:
            self._woken[worker] = True

    # -- records ---------------------------------------------------------------------------
    def version_reached(self, version: int) -> simpy.Event:
        """An event that triggers when :meth:`published` brings the version to ``version``."""
        event = self._at_version.get(version)
        if event is None:
            event = self._at_version[version] = self.env.event()
            if self.version >= version:
                event.succeed()
        return event

    def published(self) -> None:
        """After ``version`` grew by one: trigger the event waiting for it, if any."""
        event = self._at_version.pop(self.version, None)
        if event is not None and not event.triggered:
            event.succeed()

    def record(self, *row: Any) -> None:
        """Append one gradient's row (the fields of :data:`ROW`, in order); trigger ``done``
        when the target is reached."""
        self.rows.append(row)
        if len(self.rows) >= self.target and not self.done.triggered:
            self.done.succeed()

    def columns(self) -> dict[str, Any]:
        """The first ``target`` rows as one array per field of :data:`ROW`."""
        rows = self.rows[: self.target]
        if not rows:
            return {name: np.empty(0) for name in ROW}
        return {name: np.asarray(values) for name, values in zip(ROW, zip(*rows, strict=True), strict=True)}

    # -- memory ----------------------------------------------------------------------------
    @property
    def live(self) -> int:
        """Live parameter vectors: the latest, any other held version, private copies, new ones."""
        held = sum(1 for v, n in self.holders.items() if n > 0 and v != self.version)
        return 1 + held + self.building + self.private_copies

    def memory_changed(self) -> None:
        """Call before a change to the live set (accumulates the time-weighted mean)."""
        now = self.env.now
        self._live_area += self.live * (now - self._live_last_t)
        self._live_last_t = now

    def memory_settled(self) -> None:
        """Call after a change to the live set (updates the peak)."""
        self.peak_live = max(self.peak_live, self.live)

    def hold(self, version: int, delta: int) -> None:
        self.memory_changed()
        n = self.holders.get(version, 0) + delta
        if n:
            self.holders[version] = n
        else:
            self.holders.pop(version, None)
        self.memory_settled()

    def mean_live(self) -> float:
        return time_averaged_live(self._live_area, self._live_last_t, self.env.now, self.live, self.peak_live)


def time_averaged_live(area: float, last: float, end: float, live: int, peak: int) -> float:
    """Live vectors averaged over ``[0, end]``: the integral ``area`` up to ``last``, plus
    ``live`` vectors since, over ``end`` (``live`` itself when ``end`` is 0); never above the
    ``peak`` (the sum of areas can exceed it by a rounding error)."""
    area += live * (end - last)
    if end <= 0:
        return float(live)
    return min(area / end, float(peak))
