"""The state of a compiled event loop, kept in arrays between calls.

An event loop stops whenever it needs something from Python (more random durations, or a
fresh chunk of output rows) and resumes where it stopped, so everything it knows lives in
numpy arrays, addressed by the constants below:

* ``counters`` (int64): the shared counters: next event id, the worker being run, the
  parameter version, the mutex owner and its sleepers, the live-vector counts, rows written;
* ``clocks`` (float64): the clock, and the integral of live vectors over time;
* ``carry`` (int64, one row per worker) and ``carry_t`` (float64): where each worker is in its loop
  (``PC``) and what it carries from one event to the next (read version, times, attempts).

Live parameter vectors are counted as :class:`staleness_sim.sim_context.SimContext` counts
them: ``1 + (held versions other than the latest) + (vectors being built) + (private
copies)``, integrated over time at the same instants, so both engines report the same
peak and mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# -- counters: shared ---------------------------------------------------------------------
EID = 0  # next event id (SimPy's scheduling order)
CUR = 1  # the worker being run, -1 between events
STARTED = 2  # workers started at time 0 so far (SimPy's process initialization)
VERSION = 3  # successful publishes
OWNER = 4  # the mutex owner, -1 if free
SLEEP_HEAD = 5  # the mutex's sleepers: a ring buffer of worker ids
SLEEP_COUNT = 6
PRIVATE = 7  # private copies (lock-based)
BUILDING = 8  # vectors under construction (Leashed-SGD)
HELD_OTHER = 9  # versions other than the latest that a worker holds
PEAK = 10  # peak live vectors
RECORDS = 11  # gradients recorded (the target included; later ones are not written)
POS = 12  # the next output row
DONE_EID = 13  # the id of SimPy's "target reached" event, -1 before
STOP_AFTER = 14  # records after which the loop stops even if a worker has not yet waited
IN_BATCH = 15  # Rennala SGD: gradients in the step under way
REGISTERED = 16  # Ringmaster's stopping variant: waits for a version registered so far
V_HEAD = 17  # its version events under way (SimPy's ``version_reached`` events, triggered
V_COUNT = 18  # and not yet processed): a ring buffer of (version, event id) in ``vqueue``
G_SIZE = 19

# -- clocks: shared floats ----------------------------------------------------------------------
NOW = 0
AREA = 1  # integral of live vectors over time
LAST = 2  # when AREA was last brought up to date
T_END = 3  # when the target was reached
GF_SIZE = 4

# -- carry, carry_t: per worker -------------------------------------------------------------------------
PC = 0  # where in its loop the worker resumes (the algorithm's state constants)
RV = 1  # the version its gradient read
ATTEMPTS = 2
PUBLISHED = 3  # Leashed-SGD: its CAS succeeded; Rennala SGD: its gradient joined the batch
BASE = 4  # Leashed-SGD: the version a publish attempt builds on
KIND = 5  # lock-based: which acquire (read or publish) is under way
TARGET = 6  # Ringmaster's stopping variant: the version that makes it give up (-1: none)
ORDER = 7  # and when it began to wait for it (callbacks run in that order)
HELD = 8  # lock-based: the version its private copy equals (-1: none), read without a copy
W_SIZE = 9
T_READ = 0
T_DONE = 1
PUB = 2  # the publish duration drawn for the current attempt
OUTSIDE = 3  # its part spent before the attempt reads the latest version
WF_SIZE = 4

# -- what a step or a run returns ------------------------------------------------------------
DONE = 0
NEED_READ = 1  # 1 + the phase that ran out of durations (0 read, 1 compute, 2 publish)
NEED_COMPUTE = 2
NEED_PUBLISH = 3
FULL = 4  # the output rows are used up
WAITING = 5  # the worker waits for an event (scheduled, or a mutex hand-over)
GO_ON = 6  # the worker goes on at once (a row recorded, a phase without duration)
READ, COMPUTE, PUBLISH = 0, 1, 2


#: Gradients a worker may record after the target, at the target's instant, before the loop
#: stops (SimPy lets the processes run on until its "target reached" event is processed).
EXTRA_RECORDS = 4


def new_state(workers: int, gradients: int, holders: bool = True, versions: bool = False) -> dict[str, Any]:
    """Fresh arrays for a run of ``gradients`` with ``workers`` (``holders``: count the
    workers holding each version, as Leashed-SGD needs; lock-based runs hold none;
    ``versions``: one more leaf, ``workers``, for the version events of Ringmaster's
    stopping variant)."""
    leaves = 1 << max(0, (workers - (0 if versions else 1)).bit_length())  # a power of two >= the leaves
    counters = np.zeros(G_SIZE, dtype=np.int64)
    counters[CUR], counters[OWNER], counters[PEAK], counters[DONE_EID] = -1, -1, 1, -1
    counters[STOP_AFTER] = gradients + EXTRA_RECORDS * workers
    carry = np.zeros((workers, W_SIZE), dtype=np.int64)
    carry[:, TARGET] = -1
    carry[:, HELD] = -1
    return {
        "counters": counters,
        "clocks": np.zeros(GF_SIZE),
        "carry": carry,
        "carry_t": np.zeros((workers, WF_SIZE)),
        "used": np.zeros((3, workers), dtype=np.int64),  # durations taken per phase and worker
        # the pending events: a tournament tree, node k's winner (time inf: none) in
        # node_t[k], node_id[k], node_w[k]; 1 is the root, leaves + i worker i's leaf
        "node_t": np.full(2 * leaves, np.inf),
        "node_id": np.zeros(2 * leaves, dtype=np.int64),
        "node_w": _winners(leaves),
        "sleepers": np.zeros(workers, dtype=np.int64),
        # holders per version: versions never exceed the gradients recorded (+ a few after the
        # target at the same instant, bounded by EXTRA_RECORDS)
        "holders": np.zeros(gradients + EXTRA_RECORDS * workers + 2 if holders else 1, dtype=np.int32),
        # version events under way, all at the current instant: at most one per publish in it,
        # and a worker publishes at most once per instant
        "vqueue": np.zeros((workers + 1, 2), dtype=np.int64),
    }


def _winners(leaves: int) -> Any:
    """The workers winning each node of an empty tournament tree: at first the leftmost."""
    tree = np.zeros(2 * leaves, dtype=np.int64)
    tree[leaves:] = np.arange(leaves)
    for k in range(leaves - 1, 0, -1):
        tree[k] = tree[2 * k]
    return tree
