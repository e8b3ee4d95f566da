"""The contention probe: the gradient's slowdown with several busy cores."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import njit, objmode

from real_exec.executor.machine import usable_cores
from real_exec.executor.problems import make_problem
from real_exec.study.contention import (
    contention_ladder,
    interpolate_contention,
    measure_contention,
    measure_publish_contention,
    relative_to,
)


@given(st.integers(1, 512))
def test_the_ladder_doubles_up_to_the_cores(cores: int) -> None:
    ladder = contention_ladder(cores)
    assert ladder[0] == 1 and ladder[-1] == cores
    assert all(b == 2 * a for a, b in itertools.pairwise(ladder[:-1]))  # doubling up to the last
    assert ladder == sorted(set(ladder))  # strictly increasing
    if len(ladder) > 1:
        assert ladder[-1] <= 2 * ladder[-2]  # the last step is no bigger than a doubling


def test_interpolation_and_relative_factors() -> None:
    factors = interpolate_contention({1: 1.0, 2: 1.2, 4: 1.6, 6: 1.6})
    assert factors == pytest.approx((1.0, 1.2, 1.4, 1.6, 1.6, 1.6))
    # Calibrated on 2 threads: its gradients already carry 1.2.
    assert relative_to(factors, 2) == pytest.approx(
        (1 / 1.2, 1.0, 1.4 / 1.2, 1.6 / 1.2, 1.6 / 1.2, 1.6 / 1.2)
    )
    assert relative_to((1.0, 1.5), 8) == pytest.approx((1 / 1.5, 1.0))  # beyond the list: its last entry
    with pytest.raises(ValueError, match="k = 1"):
        interpolate_contention({2: 1.1})
    with pytest.raises(ValueError, match="cores"):
        contention_ladder(0)


def test_the_probe_measures_one_factor_per_busy_core() -> None:
    problem = make_problem("logreg", np.random.default_rng(0))
    assert measure_contention(problem, 1, seconds=0.05) == (1.0,)
    factors = measure_contention(problem, 64, seconds=0.2, rounds=2)
    assert len(factors) == usable_cores()  # capped at this machine's cores
    assert factors[0] == 1.0 and all(np.isfinite(factors)) and min(factors) > 0
    with pytest.raises(ValueError, match="workers"):
        measure_contention(problem, 0)


_TURN = threading.Lock()


def _take_turn_sleeping() -> None:
    with _TURN:
        time.sleep(0.002)


@njit(nogil=True)
def _sleep_taking_turns(p: Any, out: Any, data: Any, ws: Any) -> None:
    with objmode():
        _take_turn_sleeping()


@pytest.mark.skipif(usable_cores() < 2, reason="needs two cores for two busy threads")
def test_the_probe_counts_wall_clock_seconds_not_cpu_seconds() -> None:
    # A "gradient" that holds a shared lock while it sleeps 2 ms: it spends almost no CPU
    # time, but two threads take turns, so each gradient lasts twice as long with two busy
    # threads. The lock is not fair: a thread may get many turns in a row, or none until the
    # other one stops. The probe weighs threads by the gradients they computed, so even a
    # thread starved for the whole burst moves the factor by only its last few gradients
    # alone (3 of about 125 in a 0.25 s burst). Sleeps overshoot by tens of microseconds;
    # 40 repeats here gave 1.94-2.16 (sd 0.05, a busy third thread on 2 cores included),
    # hence 0.3 of slack around 2.
    problem = replace(make_problem("logreg", np.random.default_rng(0)), kernel=_sleep_taking_turns)
    factors = measure_contention(problem, 2, seconds=1.0, rounds=2)
    assert factors[0] == 1.0 and factors[1] == pytest.approx(2.0, abs=0.3)


class _Snooping:
    """A problem whose "gradient" sleeps 1 ms, and 1 ms more when its parameters' first value
    changed meanwhile (another thread wrote them: the cache line went to another core); it
    records the first values it read."""

    def __init__(self) -> None:
        self.seen: list[float] = []
        self.initial = np.ones(8)

    def init(self, rng: Any) -> np.ndarray:
        return self.initial.copy()

    def grad(self, params: np.ndarray, out: np.ndarray) -> None:
        read = params[0]
        self.seen.append(float(read))
        time.sleep(0.001)
        if params[0] != read:
            time.sleep(0.001)
        out[:] = 1.0


@pytest.mark.skipif(usable_cores() < 2, reason="needs two cores for two busy threads")
def test_a_shared_probe_computes_on_one_vector_that_its_threads_write() -> None:
    # Private copies: no thread sees another's writes (factor 1). One shared vector, each
    # gradient applied to it: with two threads a gradient meets the other's write when it
    # comes during its first millisecond (alone, a thread writes only between its own
    # gradients). Measured here: 1.52-1.62 shared, 0.98-0.99 private (8 and 4 probes); a
    # probe that ignored `shared` gives about 1.0, so the bound 1.3 separates the two.
    private, shared = _Snooping(), _Snooping()
    p = measure_contention(private, 2, seconds=0.4, rounds=2)  # type: ignore[arg-type]
    s = measure_contention(shared, 2, seconds=0.4, rounds=2, shared=True)  # type: ignore[arg-type]
    assert p[1] == pytest.approx(1.0, abs=0.15)
    assert 1.3 < s[1] < 2.2
    # the updates are applied to the shared vector only, never to the initial parameters
    assert min(shared.seen) < 1.0 and set(private.seen) == {1.0}
    assert np.array_equal(shared.initial, np.ones(8))


class _LastWriter:
    """A fake problem for the publish probe: a 3-ms gradient; the updates go through
    :meth:`axpy`, which takes 1 ms where the same thread wrote the vector last and 2 ms where
    another one did (a cache line that comes from another core)."""

    def __init__(self) -> None:
        self.writers: dict[int, int | None] = {}
        self.initial = np.ones(8)

    def init(self, rng: Any) -> np.ndarray:
        return self.initial.copy()

    def grad(self, params: np.ndarray, out: np.ndarray) -> None:
        time.sleep(0.003)
        out[:] = 1.0

    def axpy(self, y: np.ndarray, a: float, x: np.ndarray) -> None:
        me, last = threading.get_ident(), self.writers.get(id(y))
        time.sleep(0.001 if last in (None, me) else 0.002)
        self.writers[id(y)] = me
        y += a * x


@pytest.mark.skipif(usable_cores() < 2, reason="needs two cores for two busy threads")
def test_the_publish_probe_times_the_updates_of_one_vector_written_in_turn(monkeypatch) -> None:
    # Two threads take turns on the common vector, so nearly every update finds the other's
    # write: about 2 ms against 1 ms alone, a factor near 2 (sleeps overshoot by tens of us,
    # which moves it by a few percent). A probe that timed the gradient with the update would
    # give (3 + 2) / (3 + 1) = 1.25, one that gave each thread its own vector 1: the bounds
    # 1.5-2.3 separate them.
    from real_exec.study import contention

    fake = _LastWriter()
    monkeypatch.setattr(contention, "axpy", fake.axpy)
    factors = measure_publish_contention(fake, 2, seconds=0.4, rounds=2)  # type: ignore[arg-type]
    assert factors[0] == 1.0 and 1.5 < factors[1] < 2.3
    assert np.array_equal(fake.initial, np.ones(8))  # the updates go to the probe's own vector
    assert measure_publish_contention(fake, 1, seconds=0.05) == (1.0,)  # type: ignore[arg-type]
