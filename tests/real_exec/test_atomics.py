from __future__ import annotations

import threading

import numpy as np
from numba import njit

from real_exec.executor.atomics import cas, fetch_add, load
from real_exec.executor.pool import claim_free, hold_latest, live_count, new_pool, pack, release


def test_cas_semantics() -> None:
    a = np.array([3, 7], dtype=np.int64)
    assert not cas(a, 0, 4, 9) and a[0] == 3
    assert cas(a, 0, 3, 9) and a[0] == 9
    assert fetch_add(a, 1, 5) == 7 and a[1] == 12 and load(a, 1) == 12


@njit(nogil=True)
def _cas_increments(a, n):  # type: ignore[no-untyped-def]
    failures = 0
    for _ in range(n):
        while True:
            v = load(a, 0)
            if cas(a, 0, v, v + 1):
                break
            failures += 1
        fetch_add(a, 1, 1)
    return failures


def test_concurrent_cas_loses_no_increment() -> None:
    # Two threads in nogil code race on one slot; a lost increment would show in the total.
    a = np.zeros(2, dtype=np.int64)
    _cas_increments(a, 10)
    a[:] = 0
    threads = [threading.Thread(target=_cas_increments, args=(a, 500_000)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert a.tolist() == [1_000_000, 1_000_000]


def test_pool_claims_only_free_unheld_slots() -> None:
    _, state, readers, latest = new_pool(np.ones(3), slots=3)
    p = hold_latest(latest, readers)
    assert p == pack(0, 0) and readers[0] == 1
    s = claim_free(state, readers)
    assert s == 1 and state[1] == 1
    assert cas(latest, 0, p, pack(1, s))
    cas(state, 0, 1, 0)  # slot 0 is no longer the latest but is still held
    assert claim_free(state, readers) == 2  # slot 0 is held, so slot 2 is taken
    assert claim_free(state, readers) == -1
    assert live_count(state, readers) == 3
    release(readers, 0)
    assert live_count(state, readers) == 2
    cas(state, 2, 1, 0)
    assert claim_free(state, readers) in (0, 2)
