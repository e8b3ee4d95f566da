"""numpy's huge-page advice is off while the fast engine runs, and restored after."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from staleness_sim import SimConfig, simulate
from staleness_sim.pages import _switch, small_pages
from staleness_sim.profile import HardwareProfile

pytestmark = pytest.mark.skipif(_switch() is None, reason="this numpy has no huge-page switch")


def _advice() -> bool:
    return bool(np._core.multiarray._get_madvise_hugepage())


@pytest.mark.parametrize("before", [True, False])
def test_small_pages_turn_the_advice_off_and_restore_it(before: bool) -> None:
    set_ = np._core.multiarray._set_madvise_hugepage
    saved = _advice()
    try:
        set_(before)
        with small_pages():
            assert not _advice()
            with small_pages():  # nested: still off, and the outer exit restores
                assert not _advice()
            assert not _advice()
        assert _advice() == before
    finally:
        set_(saved)


def test_threads_inside_at_once_restore_the_advice_once_the_last_leaves() -> None:
    # Forecasts replay in threads, each simulating: a thread leaving must not turn the
    # advice back on while another is still inside, nor leave it off after all have left.
    set_ = np._core.multiarray._set_madvise_hugepage
    saved = _advice()
    set_(True)
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with small_pages():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with small_pages():
            second_in.set()
            first_out.wait(5)
            seen.append(_advice())  # the first has left; this one is still inside

    try:
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert seen == [False]
        assert _advice()
    finally:
        set_(saved)


def test_the_fast_engine_leaves_the_advice_as_it_found_it() -> None:
    saved = _advice()
    simulate(SimConfig("lock", 4, HardwareProfile(), 2000, seed=0), "fast")
    assert _advice() == saved
