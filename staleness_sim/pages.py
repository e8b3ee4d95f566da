"""Small memory pages for the fast engine's arrays.

numpy asks Linux for transparent huge pages on every large array (``madvise(MADV_HUGEPAGE)``),
and where the kernel's ``transparent_hugepage/defrag`` is ``madvise`` (a common default), a
first touch of such an array may stop while the kernel compacts memory into huge pages. The
fast engine writes each of its arrays once, front to back, right after allocating them, so
it gains nothing from huge pages and pays for every stall: on a 2-core virtual machine, runs
after a large SimPy run took 2.5-4x as long with them (docs/simulator.md).
:func:`small_pages` turns numpy's advice off while it is entered (from any number of
threads at once) and restores it after the last one leaves; where numpy has no such switch
it does nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

__all__ = ["small_pages"]

_lock = threading.Lock()
_inside = 0
_saved = True


def _switch() -> tuple[object, object] | None:
    """numpy's getter and setter of its huge-page advice, or ``None``."""
    core = getattr(np, "_core", None)
    multiarray = getattr(core, "multiarray", None)
    get = getattr(multiarray, "_get_madvise_hugepage", None)
    set_ = getattr(multiarray, "_set_madvise_hugepage", None)
    return (get, set_) if callable(get) and callable(set_) else None


@contextmanager
def small_pages() -> Iterator[None]:
    """numpy's huge-page advice off inside (see the module docstring)."""
    global _inside, _saved
    switch = _switch()
    if switch is None:
        yield
        return
    get, set_ = switch
    with _lock:
        if _inside == 0:
            _saved = bool(get())  # type: ignore[operator]
            set_(False)  # type: ignore[operator]
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                set_(_saved)  # type: ignore[operator]
