"""The compiled event loop of lock-based SGD, Rennala SGD and Leashed-SGD.

Each worker is a state machine: the program of its SimPy generator
(:func:`~staleness_sim.mechanisms.lock.lock_worker` with the
:class:`~staleness_sim.mechanisms.mutex.Mutex` inlined, both policies, with or without
Rennala SGD's step batch;
:func:`~staleness_sim.mechanisms.leashed.leashed_worker`) cut where the generator yields,
each ``PC`` value below a point where the worker resumes. The loop takes the earliest
pending event, runs its worker from its ``PC`` until the worker waits again, and schedules
what the worker waits for exactly as SimPy would: a timeout at ``now + duration`` when the
duration is positive, an immediate event for a ``fifo`` ticket or a woken sleeper. Events
are ordered by ``(time, id)``, ids counting them in scheduling order, as SimPy orders its
queue; workers start in order at time 0 (SimPy initializes its processes before any other
event at that instant). So the Trace, the CAS attempts and the live-vector accounting are
the SimPy engine's, step for step.

When the target is reached the loop goes on, as SimPy does, through the events scheduled
before SimPy's "target reached" event, then stops. It also stops, resumably, when a worker
needs more durations or the output rows are used (:mod:`staleness_sim.compiled.state`).

Ringmaster's stopping variant (``abandon``) waits for two events, as SimPy's
``timeout(compute) | version_reached(read + R)`` does: the compute timeout sits in the
worker's leaf; when it is processed SimPy's condition schedules one more event at that
instant, and the worker goes on there. The publish that brings the version to ``read + R``
triggers SimPy's version event, kept in one more leaf (``m``: a queue of such events, all
at the current instant); when it is processed each worker still waiting for it (in the
order they began to wait, as SimPy runs the callbacks) gets one more event at that instant,
replacing its timeout, and gives its gradient up there.

Pending events sit in a tournament tree (one leaf per worker: a worker waits for at most
one event); each node keeps its winner's time, id and worker, so a match reads two
neighbouring entries. The helpers are closures inside one function rather than functions of their
own: compiled functions that take arrays as arguments count references on every call,
which cost more than the whole simulation step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from staleness_sim.compiled.state import (
    AREA,
    ATTEMPTS,
    BASE,
    BUILDING,
    COMPUTE,
    CUR,
    DONE,
    DONE_EID,
    EID,
    FULL,
    GO_ON,
    HELD,
    HELD_OTHER,
    IN_BATCH,
    KIND,
    LAST,
    NEED_COMPUTE,
    NEED_PUBLISH,
    NEED_READ,
    NOW,
    ORDER,
    OUTSIDE,
    OWNER,
    PC,
    PEAK,
    POS,
    PRIVATE,
    PUB,
    PUBLISH,
    PUBLISHED,
    READ,
    RECORDS,
    REGISTERED,
    RV,
    SLEEP_COUNT,
    SLEEP_HEAD,
    STARTED,
    STOP_AFTER,
    T_DONE,
    T_END,
    T_READ,
    TARGET,
    V_COUNT,
    V_HEAD,
    VERSION,
    WAITING,
)

__all__ = ["LEASHED", "LOCK", "RENNALA", "run_loop"]

LOCK, LEASHED, RENNALA = 0, 1, 2

# PC values of a lock-based worker
L_ACQUIRE = 0  # asks for the mutex (KIND 0: to read, 1: to publish)
L_WAKE = 1  # woken from its sleep on the mutex
L_RETRY = 2  # its wake-up latency has passed: tries the mutex again
L_READ = 3
L_READ_DONE = 4
L_COMPUTE = 5
L_COMPUTE_DONE = 6
L_PUBLISH = 7
L_PUBLISH_DONE = 8
L_RECORD = 9
L_FIRED = 10  # Ringmaster's stopping variant: its compute timeout was processed
L_GIVE_UP = 11  # the version moved R times first: the gradient is given up
L_GIVE_UP_RECORD = 12

# PC values of a Leashed-SGD worker
S_READ = 0  # reads the latest version (holding it)
S_COMPUTE = 1
S_COMPUTE_DONE = 2
S_ATTEMPT = 3  # a publish attempt begins (or the gradient is dropped)
S_BASE = 4  # the attempt reads the latest version and builds on it
S_BUILT = 5
S_CAS = 6
S_RECORD = 7


@njit(cache=True, error_model="numpy")
def run_loop(
    algo: int,
    fifo: bool,
    handoff: float,
    persistence: int,
    batch: int,
    threshold: int,
    abandon: bool,
    cas: float,
    window: float,
    target: int,
    limit: int,
    read: Any,
    compute: Any,
    publish: Any,
    constant: Any,
    memory: Any,
    counters: Any,
    clocks: Any,
    carry: Any,
    carry_t: Any,
    used: Any,
    node_t: Any,
    node_id: Any,
    node_w: Any,
    sleepers: Any,
    holders: Any,
    vqueue: Any,
    out_worker: Any,
    out_rv: Any,
    out_av: Any,
    out_tau: Any,
    out_t_read: Any,
    out_t_done: Any,
    out_t_apply: Any,
    out_attempts: Any,
    out_dropped: Any,
) -> int:
    """Run until the target is reached (``DONE``) or a worker needs durations or rows
    (``NEED_*``, ``FULL``); call again, with what was missing, to go on. ``persistence``
    0 means unbounded; ``batch``: Rennala SGD's ``S``; ``threshold``: Ringmaster's ``R`` (0:
    none), ``abandon`` its stopping variant; ``constant[phase]``: that phase's
    array has one row, read every time (a constant duration draws nothing)."""
    m = carry.shape[0]
    leaves = node_t.size // 2

    # -- pending events -------------------------------------------------------------------
    def replay(i: int) -> None:  # leaf i changed: replay its matches up to the root
        k = leaves + i
        t, e, win = node_t[k], node_id[k], i  # the winner so far, carried up (no reloads)
        while k > 1:
            o = k ^ 1  # the opponent: the winner of the sibling subtree
            to, eo = node_t[o], node_id[o]
            if (to < t) | ((to == t) & (eo < e)):  # no short-circuit: a select, not branches
                t, e, win = to, eo, node_w[o]
            k >>= 1
            node_t[k], node_id[k], node_w[k] = t, e, win

    def schedule(i: int, t: float) -> None:  # worker i's next event at t, with the next id
        node_t[leaves + i], node_id[leaves + i] = t, counters[EID]
        counters[EID] += 1
        if i != counters[CUR]:  # the running worker's leaf is replayed once, when its step ends
            replay(i)

    # -- live vectors (as SimContext counts them) -----------------------------------------
    def live() -> int:
        return 1 + counters[HELD_OTHER] + counters[BUILDING] + counters[PRIVATE]

    def memory_changed() -> None:
        now = clocks[NOW]
        clocks[AREA] += live() * (now - clocks[LAST])
        clocks[LAST] = now

    def memory_settled() -> None:
        counters[PEAK] = max(counters[PEAK], live())

    def hold(version: int, delta: int) -> None:
        memory_changed()
        before = holders[version]
        holders[version] = before + delta
        if version != counters[VERSION]:
            if before == 0 and delta > 0:
                counters[HELD_OTHER] += 1
            elif before + delta == 0:
                counters[HELD_OTHER] -= 1
        memory_settled()

    def new_version() -> None:  # a publish succeeds; the latest version, if held, becomes another
        if holders[counters[VERSION]] > 0:
            counters[HELD_OTHER] += 1
        counters[VERSION] += 1

    # -- durations ------------------------------------------------------------------------
    def has_draw(phase: int, rows: int, i: int) -> bool:
        return constant[phase] or used[phase, i] < rows

    def take(phase: int, i: int) -> int:  # the row of worker i's next duration of phase
        if constant[phase]:
            return 0
        k = used[phase, i]
        used[phase, i] = k + 1
        return k

    def wait(i: int, d: float, resume: int) -> bool:  # spend d seconds, then go on at resume
        carry[i, PC] = resume
        if d > 0:  # a positive duration is a timeout; SimPy's workers skip zero ones
            schedule(i, clocks[NOW] + d)
            return True
        return False

    def compute_phase(i: int, resume: int) -> int:  # draw and spend a compute duration
        if not has_draw(COMPUTE, compute.shape[0], i):
            return NEED_COMPUTE
        return WAITING if wait(i, compute[take(COMPUTE, i), i], resume) else GO_ON

    # -- the mutex (lock-based) -----------------------------------------------------------
    def sleep(i: int, first: bool) -> None:  # at the back of the line, or first
        n, head = counters[SLEEP_COUNT], counters[SLEEP_HEAD]
        if first:
            head = head - 1 if head > 0 else m - 1
            counters[SLEEP_HEAD] = head
            sleepers[head] = i
        else:
            tail = head + n
            sleepers[tail if tail < m else tail - m] = i
        counters[SLEEP_COUNT] = n + 1

    def release() -> None:  # free the mutex, wake the longest sleeper (fifo: hand it over)
        counters[OWNER] = -1
        n = counters[SLEEP_COUNT]
        if n > 0:
            head = counters[SLEEP_HEAD]
            j = sleepers[head]
            counters[SLEEP_HEAD], counters[SLEEP_COUNT] = head + 1 if head + 1 < m else 0, n - 1
            if fifo:
                counters[OWNER] = j
            schedule(j, clocks[NOW])

    # -- Ringmaster's stopping variant: waits for a version -------------------------------
    def version_event() -> None:  # the version grew: SimPy triggers the event waited for, if any
        v = counters[VERSION]
        for j in range(m):
            if carry[j, TARGET] == v:
                n, head = counters[V_COUNT], counters[V_HEAD]
                tail = head + n
                tail = tail if tail <= m else tail - m - 1
                vqueue[tail, 0], vqueue[tail, 1] = v, counters[EID]
                counters[EID] += 1
                counters[V_COUNT] = n + 1
                if n == 0:
                    node_t[leaves + m], node_id[leaves + m] = clocks[NOW], vqueue[tail, 1]
                    replay(m)
                return

    def versions_step() -> None:  # the earliest version event is processed: its waiters give up
        head = counters[V_HEAD]
        v = vqueue[head, 0]
        while True:  # the waiters of v, in the order they began to wait
            j, first = -1, 0
            for k in range(m):
                if carry[k, TARGET] == v and (j < 0 or carry[k, ORDER] < first):
                    j, first = k, carry[k, ORDER]
            if j < 0:
                break
            carry[j, TARGET], carry[j, PC] = -1, L_GIVE_UP
            schedule(j, clocks[NOW])  # replaces its compute timeout
        counters[V_HEAD] = head + 1 if head < m else 0
        counters[V_COUNT] -= 1
        if counters[V_COUNT] > 0:
            node_t[leaves + m], node_id[leaves + m] = clocks[NOW], vqueue[counters[V_HEAD], 1]
        else:
            node_t[leaves + m] = np.inf
        replay(m)

    # -- records --------------------------------------------------------------------------
    def record(i: int, rv: int, av: int, attempts: int) -> int:
        if counters[RECORDS] < target:
            k = counters[POS]
            if k >= limit:
                return FULL
            out_worker[k], out_rv[k], out_av[k] = i, rv, av
            out_tau[k] = av - 1 - rv if av >= 0 else -1
            out_t_read[k], out_t_done[k], out_t_apply[k] = carry_t[i, T_READ], carry_t[i, T_DONE], clocks[NOW]
            out_attempts[k], out_dropped[k] = attempts, av < 0
            counters[POS] = k + 1
        counters[RECORDS] += 1
        if counters[RECORDS] == target:  # SimPy schedules its "target reached" event now
            counters[DONE_EID] = counters[EID]
            counters[EID] += 1
            clocks[T_END] = clocks[NOW]
        elif counters[RECORDS] >= counters[STOP_AFTER]:
            return DONE  # zero-time loops after the target (SimPy would not stop either)
        return GO_ON

    # -- one worker, from its PC until it waits -------------------------------------------
    def step_lock(i: int) -> int:
        now = clocks[NOW]
        while True:
            pc = carry[i, PC]
            if pc == L_ACQUIRE:
                section = L_READ if carry[i, KIND] == 0 else L_PUBLISH
                if counters[OWNER] < 0 and not (fifo and counters[SLEEP_COUNT] > 0):
                    counters[OWNER] = i
                    carry[i, PC] = section
                    if fifo:  # a ticket is taken and checked: timeout(0)
                        schedule(i, now)
                        return WAITING
                    continue
                sleep(i, False)
                carry[i, PC] = L_WAKE
                return WAITING
            if pc == L_WAKE:
                if wait(i, handoff, L_RETRY):
                    return WAITING
                continue
            if pc == L_RETRY:
                if fifo or counters[OWNER] < 0:  # fifo: the mutex was handed over at release
                    counters[OWNER] = i
                    carry[i, PC] = L_READ if carry[i, KIND] == 0 else L_PUBLISH
                    continue
                sleep(i, True)  # lost the race: first in line again
                carry[i, PC] = L_WAKE
                return WAITING
            if pc == L_READ:
                if not has_draw(READ, read.shape[0], i):
                    return NEED_READ
                carry_t[i, T_READ], carry[i, RV] = now, counters[VERSION]
                d = read[take(READ, i), i] + (memory[i] if carry[i, HELD] != counters[VERSION] else 0.0)
                carry[i, HELD] = counters[VERSION]
                if wait(i, d, L_READ_DONE):
                    return WAITING
                continue
            if pc == L_READ_DONE:
                release()
                memory_changed()
                counters[PRIVATE] += 1
                memory_settled()
                carry[i, PC] = L_COMPUTE
                continue
            if pc == L_COMPUTE:
                if abandon:  # SimPy's timeout | version_reached(read + R): always an event
                    if not has_draw(COMPUTE, compute.shape[0], i):
                        return NEED_COMPUTE
                    schedule(i, now + compute[take(COMPUTE, i), i])
                    carry[i, TARGET], carry[i, ORDER] = carry[i, RV] + threshold, counters[REGISTERED]
                    counters[REGISTERED] += 1
                    carry[i, PC] = L_FIRED
                    return WAITING
                status = compute_phase(i, L_COMPUTE_DONE)
                if status != GO_ON:
                    return status
                continue
            if pc == L_FIRED:  # the timeout came first: the condition's own event follows
                carry[i, TARGET] = -1
                schedule(i, now)
                carry[i, PC] = L_COMPUTE_DONE
                return WAITING
            if pc == L_GIVE_UP:
                memory_changed()
                counters[PRIVATE] -= 1
                memory_settled()
                carry_t[i, T_DONE] = now
                carry[i, PC] = L_GIVE_UP_RECORD
                continue
            if pc == L_GIVE_UP_RECORD:
                status = record(i, carry[i, RV], -1, 0)
                if status != GO_ON:
                    return status
                carry[i, KIND], carry[i, PC] = 0, L_ACQUIRE
                continue
            if pc == L_COMPUTE_DONE:
                carry_t[i, T_DONE] = now
                carry[i, KIND], carry[i, PC] = 1, L_ACQUIRE
                continue
            if pc == L_PUBLISH:
                if algo == RENNALA:
                    kept = counters[VERSION] == carry[i, RV]
                else:  # Ringmaster: a gradient whose delay reached R is thrown away
                    kept = threshold == 0 or counters[VERSION] - carry[i, RV] < threshold
                carry[i, PUBLISHED] = 1 if kept else 0
                if not kept:  # computed at an older point: thrown away at once
                    carry[i, PC] = L_PUBLISH_DONE
                    continue
                if not has_draw(PUBLISH, publish.shape[0], i):
                    return NEED_PUBLISH
                d = publish[take(PUBLISH, i), i] + memory[i]
                if wait(i, d, L_PUBLISH_DONE):
                    return WAITING
                continue
            if pc == L_PUBLISH_DONE:
                if algo != RENNALA:
                    if carry[i, PUBLISHED]:
                        if counters[VERSION] == carry[i, RV]:  # its apply refreshed its copy
                            carry[i, HELD] = counters[VERSION] + 1
                        counters[VERSION] += 1  # no worker holds a version under the lock
                        if abandon:
                            version_event()
                elif carry[i, PUBLISHED]:
                    counters[IN_BATCH] += 1
                    if counters[IN_BATCH] == batch:  # the step's last gradient makes the step
                        counters[IN_BATCH] = 0
                        counters[VERSION] += 1
                release()
                memory_changed()
                counters[PRIVATE] -= 1
                memory_settled()
                carry[i, PC] = L_RECORD
                continue
            av, attempts = counters[VERSION], 1  # L_RECORD
            if not carry[i, PUBLISHED]:  # a gradient thrown away made no attempt
                av, attempts = -1, 0
            elif algo == RENNALA:
                av = carry[i, RV] + 1
            status = record(i, carry[i, RV], av, attempts)
            if status != GO_ON:
                return status
            carry[i, KIND], carry[i, PC] = 0, L_ACQUIRE

    def step_leashed(i: int) -> int:
        now = clocks[NOW]
        while True:
            pc = carry[i, PC]
            if pc == S_READ:
                if not has_draw(READ, read.shape[0], i):
                    return NEED_READ
                carry_t[i, T_READ], carry[i, RV] = now, counters[VERSION]
                hold(carry[i, RV], 1)
                d = read[take(READ, i), i]
                if wait(i, d, S_COMPUTE):
                    return WAITING
                continue
            if pc == S_COMPUTE:
                status = compute_phase(i, S_COMPUTE_DONE)
                if status != GO_ON:
                    return status
                continue
            if pc == S_COMPUTE_DONE:
                carry_t[i, T_DONE] = now
                hold(carry[i, RV], -1)
                carry[i, ATTEMPTS], carry[i, PUBLISHED], carry[i, PC] = 0, 0, S_ATTEMPT
                continue
            if pc == S_ATTEMPT:
                if persistence > 0 and carry[i, ATTEMPTS] >= persistence:
                    carry[i, PC] = S_RECORD  # dropped
                    continue
                if not has_draw(PUBLISH, publish.shape[0], i):
                    return NEED_PUBLISH
                carry[i, ATTEMPTS] += 1
                p = publish[take(PUBLISH, i), i]
                outside = (1.0 - window) * p  # before the attempt reads the latest version
                carry_t[i, PUB], carry_t[i, OUTSIDE] = p, outside
                if wait(i, outside, S_BASE):
                    return WAITING
                continue
            if pc == S_BASE:
                carry[i, BASE] = counters[VERSION]
                hold(carry[i, BASE], 1)
                memory_changed()
                counters[BUILDING] += 1
                memory_settled()
                d = carry_t[i, PUB] - carry_t[i, OUTSIDE] + memory[i]
                if wait(i, d, S_BUILT):
                    return WAITING
                continue
            if pc == S_BUILT:
                if wait(i, cas, S_CAS):
                    return WAITING
                continue
            if pc == S_CAS:
                memory_changed()
                counters[BUILDING] -= 1
                if counters[VERSION] == carry[i, BASE]:  # the CAS succeeds: the new vector is the latest
                    new_version()
                    carry[i, PUBLISHED] = 1
                memory_settled()
                hold(carry[i, BASE], -1)
                carry[i, PC] = S_RECORD if carry[i, PUBLISHED] else S_ATTEMPT
                continue
            av = counters[VERSION] if carry[i, PUBLISHED] else -1  # S_RECORD
            status = record(i, carry[i, RV], av, carry[i, ATTEMPTS])
            if status != GO_ON:
                return status
            carry[i, PC] = S_READ

    # -- the loop ---------------------------------------------------------------------------
    while True:
        i = counters[CUR]
        if i < 0:
            if counters[STARTED] < m:
                i = counters[STARTED]
                counters[STARTED] = i + 1
            else:
                i, t = node_w[1], node_t[1]  # the root: the earliest event
                if t == np.inf:
                    return DONE  # no event left (the driver checks that the target was reached)
                if counters[DONE_EID] >= 0 and not (
                    t < clocks[T_END] or (t == clocks[T_END] and node_id[1] < counters[DONE_EID])
                ):
                    return DONE
                clocks[NOW] = t
                if i == m:  # the version events' leaf (Ringmaster's stopping variant)
                    versions_step()
                    continue
                node_t[leaves + i] = np.inf  # taken (its leaf is replayed when the step ends)
            counters[CUR] = i
        status = step_leashed(i) if algo == LEASHED else step_lock(i)
        if status != WAITING:
            return status
        counters[CUR] = -1
        replay(i)  # after the leaves the step scheduled: the ancestors they share are redone
