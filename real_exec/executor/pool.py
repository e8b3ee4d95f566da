"""Leashed-SGD's memory: a pool of parameter vectors and a CAS-updated latest pointer.

``latest[0]`` packs ``(sequence << 16) | slot``: the version number and the pool slot
holding it. ``state[s]`` is 1 while slot ``s`` is the latest or being built, else 0;
``readers[s]`` counts workers holding it. A slot is reused when ``state == 0`` and
``readers == 0``. Readers announce themselves and then re-check that the pointer did not
move (the hazard-pointer pattern), so a slot is never rebuilt under a reader.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from real_exec.executor.atomics import cas, fetch_add, load
from real_exec.executor.kernels import subtract_scaled

__all__ = [
    "SLOT_BITS",
    "build",
    "claim_free",
    "hold_latest",
    "install",
    "live_count",
    "new_pool",
    "pack",
    "publish",
    "release",
]

SLOT_BITS = 16
SLOT_MASK = (1 << SLOT_BITS) - 1


def new_pool(init: Any, slots: int) -> tuple[Any, Any, Any, Any]:
    """``(vectors, state, readers, latest)`` with ``init`` installed as version 0 in slot 0."""
    vectors = np.zeros((slots, init.size), dtype=init.dtype)
    vectors[0] = init
    state = np.zeros(slots, dtype=np.int64)
    state[0] = 1
    return vectors, state, np.zeros(slots, dtype=np.int64), np.zeros(1, dtype=np.int64)


@njit(nogil=True, cache=True)
def pack(sequence: int, slot: int) -> int:
    return (sequence << SLOT_BITS) | slot


@njit(nogil=True, cache=True)
def hold_latest(latest: Any, readers: Any) -> int:
    """Hold the latest version; return its packed pointer."""
    while True:
        p = load(latest, 0)
        slot = p & SLOT_MASK
        fetch_add(readers, slot, 1)
        if load(latest, 0) == p:
            return p
        fetch_add(readers, slot, -1)


@njit(nogil=True, cache=True)
def release(readers: Any, slot: int) -> None:
    fetch_add(readers, slot, -1)


@njit(nogil=True, cache=True)
def claim_free(state: Any, readers: Any) -> int:
    """Claim a free slot for a new vector; -1 if every slot is in use."""
    for s in range(state.size):
        if load(state, s) == 0 and cas(state, s, 0, 1):
            if load(readers, s) == 0:
                return s
            cas(state, s, 1, 0)
    return -1


@njit(nogil=True, cache=True)
def live_count(state: Any, readers: Any) -> int:
    """Vectors in use: the latest, those being built, and those held by readers."""
    n = 0
    for s in range(state.size):
        if load(state, s) != 0 or load(readers, s) != 0:
            n += 1
    return n


@njit(nogil=True, cache=True)
def build(
    vectors: Any, state: Any, readers: Any, latest: Any, grad: Any, read_version: int, scale: Any, eta: float
) -> tuple[int, int, float]:
    """One publish attempt's new vector: hold the latest version ``L``, claim a free slot,
    build ``L - eta s(tau) g`` in it (``tau``: ``L``'s version less ``read_version``) and
    release ``L``. Returns ``(base, new, step)``: ``L``'s packed pointer, the slot built
    (-1 if every slot is in use; nothing is then held or claimed) and the step taken."""
    base = hold_latest(latest, readers)
    base_slot, sequence = base & SLOT_MASK, base >> SLOT_BITS
    new = claim_free(state, readers)
    if new < 0:
        release(readers, base_slot)
        return base, -1, 0.0
    step = eta * scale[min(sequence - read_version, scale.size - 1)]
    subtract_scaled(vectors[new], vectors[base_slot], step, grad)
    release(readers, base_slot)
    return base, new, step


@njit(nogil=True, cache=True)
def install(state: Any, latest: Any, base: int, new: int) -> bool:
    """The attempt's CAS: move the latest pointer from ``base`` to slot ``new`` as the next
    version. On success ``base``'s slot may be reused; on failure (another worker published
    since ``base`` was read) slot ``new`` is freed."""
    if cas(latest, 0, base, pack((base >> SLOT_BITS) + 1, new)):
        cas(state, base & SLOT_MASK, 1, 0)
        return True
    cas(state, new, 1, 0)
    return False


@njit(nogil=True, cache=True)
def publish(
    vectors: Any,
    state: Any,
    readers: Any,
    latest: Any,
    grad: Any,
    read_version: int,
    scale: Any,
    eta: float,
    bound: int,
) -> tuple[int, int, float, int]:
    """Leashed-SGD's publish loop, without the GIL: attempts (:func:`build`, then
    :func:`install`) until one installs its vector; after ``bound`` failed attempts
    (``bound <= 0``: unbounded) the gradient is dropped. Returns ``(version, attempts, step,
    live)``: the new version (-1 if dropped, -2 if the pool ran out), the attempts made, the
    last step size and the most vectors seen live.
    """
    attempts, step, peak = 0, 0.0, 0
    while bound <= 0 or attempts < bound:
        attempts += 1
        base, new, built = build(vectors, state, readers, latest, grad, read_version, scale, eta)
        if new < 0:
            return -2, attempts, step, peak
        step = built
        peak = max(peak, live_count(state, readers))
        if install(state, latest, base, new):
            return (base >> SLOT_BITS) + 1, attempts, step, peak
    return -1, attempts, step, peak
