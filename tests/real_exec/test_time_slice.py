"""The time slice a time-shared run's workers got, measured on its Trace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from real_exec.study.calibrate import DEFAULT_QUANTUM, calibrate_profile
from real_exec.study.time_slice import MIN_SLICES, time_slice
from theory.trace import Trace

GRADIENT, PUBLISH, GAP, OFF = 40e-6, 5e-6, 1e-6, 1.5e-3


def schedule(workers: int, rows: int, every: int, first: int = 0) -> tuple[Trace, np.ndarray, list[float]]:
    """Each worker computes gradients of 1-1.75 ``GRADIENT`` CPU seconds, publishes for
    ``PUBLISH`` and waits ``GAP`` before its next read; every ``every``-th gradient (from
    ``first``) also spends ``OFF`` seconds off its core. The Trace's versions follow the
    publishes, and the gradients' CPU times come worker by worker, as a real run records
    them. Also the slices: the time on the core from one preempted gradient's end to the
    next one's."""
    t_read, t_done, t_apply, worker, cpu, slices = [], [], [], [], [], []
    for w in range(workers):
        t, since = 1e-6 * w, None
        for k in range(rows):
            preempted = k % every == first % every
            c = GRADIENT * (1 + 0.25 * ((3 * k + w) % 4))
            t_read.append(t)
            t_done.append(t + c + (OFF if preempted else 0.0))
            t_apply.append(t_done[-1] + PUBLISH)
            worker.append(w)
            cpu.append(c)
            t = t_apply[-1] + GAP
            if since is not None:
                since += c
            if preempted:
                if since is not None:
                    slices.append(since)
                since = 0.0
            if since is not None:
                since += PUBLISH + (GAP if k < rows - 1 else 0.0)  # no read after the last
    t_read_a, t_apply_a = np.array(t_read), np.array(t_apply)
    order = np.argsort(t_apply_a, kind="stable")  # the table in publish order
    applies = np.sort(t_apply_a)
    trace = Trace.from_columns(
        meta={"algorithm": "hogwild", "workers": workers},
        worker=np.array(worker)[order],
        read_version=np.searchsorted(applies, t_read_a, side="right")[order],
        apply_version=np.arange(1, len(order) + 1),
        t_read=t_read_a[order],
        t_grad_done=np.array(t_done)[order],
        t_apply=t_apply_a[order],
        attempts=np.ones(len(order), dtype=np.int32),
        step_size=np.full(len(order), 0.1),
    )
    return trace, np.array(cpu), slices


@settings(max_examples=30, deadline=None)
@given(workers=st.integers(2, 4), every=st.integers(1, 40), first=st.integers(0, 39))
def test_the_slice_is_the_time_on_the_core_between_two_preemptions(
    workers: int, every: int, first: int
) -> None:
    # Between two gradients that lost the core, a worker ran `every` cycles of varying
    # length: the median of those stretches (the table in publish order, the CPU times in
    # the recorders').
    trace, cpu, slices = schedule(workers, 40 * every, every, first)
    assert time_slice(trace.table, cpu) == pytest.approx(float(np.median(slices)), rel=1e-6)


def test_no_slice_without_enough_preemptions_or_with_cpu_times_of_another_run() -> None:
    trace, cpu, _ = schedule(2, 200, 1000)  # one preempted gradient per worker: no slice between
    assert time_slice(trace.table, cpu) is None
    trace, cpu, _ = schedule(2, (MIN_SLICES // 2 + 1) * 10, 10)  # MIN_SLICES slices in all
    assert time_slice(trace.table, cpu) is not None
    assert time_slice(trace.table, cpu[:-1]) is None
    assert time_slice(trace.table, np.full(cpu.size, np.nan)) is None


def test_a_time_shared_calibration_takes_the_measured_slice() -> None:
    # the median slice is the quantum; with every core shared by as many threads, every
    # simulated slice is drawn from the slices, with 3 threads on 2 cores none is
    trace, cpu, slices = schedule(3, 400, 25)
    measured = calibrate_profile(trace, cores=2, gradient_cpu=cpu)
    assert measured.quantum == pytest.approx(float(np.median(slices)), rel=1e-6)
    assert measured.slices is None
    trace4, cpu4, slices4 = schedule(4, 400, 25)
    even = calibrate_profile(trace4, cores=2, gradient_cpu=cpu4)
    assert even.quantum == pytest.approx(float(np.median(slices4)), rel=1e-6)
    assert np.sort(even.slices.samples) == pytest.approx(np.sort(slices4), rel=1e-6)  # type: ignore[union-attr]
    never = calibrate_profile(trace, cores=2, gradient_cpu=np.full(cpu.size, 2 * GRADIENT + OFF))
    assert never.quantum == DEFAULT_QUANTUM and never.slices is None  # none lost its core: the default
    shared = calibrate_profile(trace, cores=3, gradient_cpu=cpu)
    assert shared.quantum is None and shared.slices is None  # a core each


def test_slices_shorter_than_a_quarter_of_the_median_are_not_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    # A thread preempted long before its slice ends lost its core to a thread woken from a
    # lock wait (modelled by the simulator's wake-up preemption) or to an interrupt: of
    # measured slices of 10 us (30 of them) and 2 ms (70), only the 2-ms ones are drawn,
    # and the quantum is still the median of all
    import real_exec.study.calibrate as calibrate

    measured = np.r_[np.full(30, 1e-5), np.full(70, 2e-3)]
    monkeypatch.setattr(calibrate, "slices", lambda table, cpu: measured)
    trace, cpu, _ = schedule(4, 400, 25)
    profile = calibrate_profile(trace, cores=2, gradient_cpu=cpu)
    assert profile.quantum == pytest.approx(2e-3)
    assert np.all(profile.slices.samples == 2e-3) and profile.slices.samples.size == 70  # type: ignore[union-attr]
