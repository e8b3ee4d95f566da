"""Pauses that stop every core at once: found on a run's gradients, and taken out of the
gradient time the calibration gives the simulator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from real_exec.study.calibrate import calibrate_profile
from real_exec.study.pauses import common_pauses, without_pauses
from real_exec.study.time_slice import lost_the_core
from theory.trace import Trace

GRADIENT, SPREAD, PUBLISH = 40e-6, 0.05, 5e-6


def paused_run(
    workers: int,
    rows: int,
    pauses_per_s: float,
    pause: float,
    seed: int,
    solo: float = 0.0,
    algo: str = "hogwild",
) -> tuple[Trace, np.ndarray, np.ndarray]:
    """HOGWILD!-like workers on a core each: gradients of ``GRADIENT`` seconds times
    ``1 + SPREAD * N(0, 1)``, publishes of ``PUBLISH``; pauses of ``pause`` seconds begin at
    Poisson times (``pauses_per_s``) and stop every worker's phase under way meanwhile.
    A share ``solo`` of worker 0's gradients also take ``pause`` longer on their own. The
    Trace says it is ``algo``'s.
    Returns the Trace, each row's gradient seconds, and each row's pause seconds (the pauses
    that began during its gradient)."""
    rng = np.random.default_rng(seed)
    horizon = rows * (GRADIENT + PUBLISH) * 1.5 + pause * rows
    starts = np.cumsum(rng.exponential(1.0 / pauses_per_s, size=int(horizon * pauses_per_s * 2) + 10))

    def stretched(t: float, seconds: float) -> tuple[float, float]:
        """The end of a phase of ``seconds`` begun at ``t``, and the pause time in it."""
        end, paused = t + seconds, 0.0
        k = int(np.searchsorted(starts, t, side="left"))
        while k < starts.size and starts[k] < end:
            end, paused, k = end + pause, paused + pause, k + 1
        return end, paused

    t_read, t_done, t_apply, worker, truth = [], [], [], [], []
    for w in range(workers):
        t = 0.3e-6 * w
        for _ in range(rows):
            c = GRADIENT * max(0.5, 1 + SPREAD * rng.standard_normal())
            if w == 0 and rng.random() < solo:
                c += pause
            done, paused = stretched(t, c)
            applied, _ = stretched(done, PUBLISH)
            t_read.append(t)
            t_done.append(done)
            t_apply.append(applied)
            worker.append(w)
            truth.append(paused)
            t = applied
    t_read_a, t_done_a, t_apply_a = np.array(t_read), np.array(t_done), np.array(t_apply)
    order = np.argsort(t_apply_a, kind="stable")
    applies = np.sort(t_apply_a)
    trace = Trace.from_columns(
        meta={"algorithm": algo, "workers": workers},
        worker=np.array(worker)[order],
        read_version=np.searchsorted(applies, t_read_a, side="right")[order],
        apply_version=np.arange(1, len(order) + 1),
        t_read=t_read_a[order],
        t_grad_done=t_done_a[order],
        t_apply=t_apply_a[order],
        attempts=np.ones(len(order), dtype=np.int32),
        step_size=np.full(len(order), 0.1),
    )
    return trace, (t_done_a - t_read_a)[order], np.array(truth)[order]


def shown_by_all_others(table: Any, truth: np.ndarray) -> np.ndarray:
    """Per row: whether every other worker has a gradient with a pause that overlaps it."""
    worker = table["worker"].to_numpy()
    start, end = table["t_read"].to_numpy(), table["t_grad_done"].to_numpy()
    out = np.ones(len(table), dtype=bool)
    for other in np.unique(worker):
        paused = np.flatnonzero((worker == other) & (truth > 0))
        meets = (start[:, None] < end[paused][None, :]) & (end[:, None] > start[paused][None, :])
        out &= (worker == other) | meets.any(axis=1)
    return out


@settings(max_examples=15, deadline=None)
@given(
    workers=st.integers(2, 4),
    pause=st.floats(15e-6, 60e-6),
    seed=st.integers(0, 2**16),
)
def test_common_pauses_are_found_in_the_gradients_they_lengthened(
    workers: int, pause: float, seed: int
) -> None:
    # 3,000 gradients of each worker; a pause every ~2.5 ms lands in about 2% of them.
    trace, durations, truth = paused_run(workers, 3000, 400.0, pause, seed)
    found = common_pauses(trace.table, durations)
    hit = truth > 0
    # A pause can be found where every other worker was computing a gradient when it came,
    # not publishing (its publish then took the pause): 90% of those are.
    visible = hit & shown_by_all_others(trace.table, truth)
    seen = found > 0.5 * truth
    assert visible.sum() > 0.5 * hit.sum()
    assert (seen & visible).sum() > 0.9 * visible.sum()
    # Where found, at the pause's length give or take the gradients' own spread (sigma, 5%
    # of 40 us: 2 us). The smallest of the k workers' excesses is taken, each the pause
    # plus a draw of that spread, so it comes out short by about the expected minimum of k
    # normal draws: 0.56 sigma with 2 workers, 1.03 sigma with 4. Over 50 seeds x pauses of
    # 15, 30, 47 and 60 us x 2-4 workers, the median error ranged from -1.56 to -0.05
    # sigma (the mean, which a few pauses found far short pull down, to -1.91 sigma, so it
    # is not the one checked); 2 sigma allowed.
    sigma = SPREAD * GRADIENT
    error = found[seen & hit] - truth[seen & hit]
    assert np.median(np.abs(error)) < 2 * sigma
    assert -2.0 * sigma < np.median(error) < 0.0
    # Gradients that met no pause: at most the gradients' own spread where long ones met by
    # chance (the top 10% of each worker's: a few us), never a pause's length, and little:
    # on average under 5% of that spread.
    assert np.quantile(found[~hit], 0.99) < 0.5 * pause
    assert found[~hit].mean() < 0.05 * SPREAD * GRADIENT


@pytest.mark.parametrize("workers", [2, 4])
def test_without_pauses_the_gradients_keep_their_spread(workers: int) -> None:
    # No pause at all (one expected in 1,000 s): what chance meetings of long gradients
    # take out leaves the spread within 5% (it is 2 us; they take a few us from about 1%
    # of the gradients with 2 workers, fewer with 4).
    trace, durations, truth = paused_run(workers, 4000, 1e-3, 30e-6, seed=2)
    assert not truth.any()
    found = common_pauses(trace.table, durations)
    kept = without_pauses(durations, found, trace.table["worker"].to_numpy())
    assert kept.std() > 0.95 * durations.std()


def test_a_workers_own_long_gradients_are_not_taken_for_pauses() -> None:
    # Worker 0 alone takes 30 us longer in 3% of its gradients; the other worker's gradients
    # that overlap them are long only by chance (its top 10%: a few us), so at most that
    # much of worker 0's long ones is taken for a pause, and they keep their length.
    trace, durations, _ = paused_run(2, 4000, 1e-3, 30e-6, seed=4, solo=0.03)
    found = common_pauses(trace.table, durations)
    own = (trace.table["worker"].to_numpy() == 0) & (durations > GRADIENT + 20e-6)
    assert own.sum() > 50
    assert np.quantile(found[own], 0.9) < 3 * SPREAD * GRADIENT


def test_one_worker_has_no_common_pause() -> None:
    trace, durations, truth = paused_run(1, 2000, 400.0, 30e-6, seed=1)
    assert truth.sum() > 0
    assert not common_pauses(trace.table, durations).any()


@settings(max_examples=30, deadline=None)
@given(
    durations=st.lists(st.floats(1e-6, 1e-3), min_size=4, max_size=40),
    share=st.floats(0.0, 0.9),
)
def test_taking_pauses_out_keeps_each_workers_total_time(durations: list[float], share: float) -> None:
    d = np.array(durations)
    worker = np.arange(d.size) % 3
    pauses = share * d * (np.arange(d.size) % 2)
    out = without_pauses(d, pauses, worker)
    for w in range(3):
        assert out[worker == w].sum() == pytest.approx(d[worker == w].sum(), rel=1e-9)
    # a row without a pause keeps its length plus its worker's mean pause
    mean = np.array([pauses[worker == w].mean() for w in range(3)])
    clean = pauses == 0
    assert np.allclose(out[clean], d[clean] + mean[worker[clean]])


def test_the_calibrated_gradient_time_leaves_the_common_pauses_out() -> None:
    # Pauses of 40 us in about 2% of the gradients double their spread; the lock-based
    # profile's gradient samples keep the workers' own spread plus the pauses that only one
    # worker's gradient showed (the other's publish took them), within 10% (chance meetings
    # of long gradients and pauses found a little short), and the mean time. HOGWILD!'s
    # gradients meet the other workers' writes, and its profile keeps the spread.
    trace, durations, truth = paused_run(2, 4000, 400.0, 40e-6, seed=3, algo="lock")
    visible = shown_by_all_others(trace.table, truth)
    best = np.std(durations - np.where(visible, truth, 0.0))
    assert durations.std() > 1.5 * best
    profile = calibrate_profile(trace, cores=None)
    compute = profile.compute.samples
    assert compute.mean() == pytest.approx(durations.mean(), rel=0.01)
    assert compute.std() < 1.1 * best
    assert "pauses common to the cores taken out of" in profile.description  # says so
    hogwild, _, _ = paused_run(2, 4000, 400.0, 40e-6, seed=3)
    assert calibrate_profile(hogwild, cores=None).compute.samples.std() > 1.5 * best


def test_on_time_shared_cores_only_gradients_that_kept_their_core_show_pauses() -> None:
    # Two workers' gradients lengthened together while one of them was off its core (its
    # wall-clock time far above its CPU time) met no pause: the CPU time it lost was its own.
    trace, durations, _ = paused_run(2, 2000, 400.0, 40e-6, seed=5, algo="lock")
    wall = trace.table["t_grad_done"].to_numpy() - trace.table["t_read"].to_numpy()
    found = common_pauses(trace.table, durations)
    assert found.any()
    off_core = wall + 10 * GRADIENT  # every gradient lost its core for 0.4 ms
    kept = ~lost_the_core(off_core, durations)
    assert not kept.any()
    assert not common_pauses(trace.table, durations, eligible=kept).any()
    assert (common_pauses(trace.table, durations, eligible=~lost_the_core(wall, durations)) == found).all()


def test_time_shared_calibration_finds_no_pause_in_gradients_that_lost_their_core() -> None:
    # A lock-based run of 3 workers with pauses taken as time-shared (2 cores), each
    # gradient's CPU time 30% of its wall-clock time: every gradient lost its core, so none
    # shows a pause and the profile's gradient samples keep the CPU times' whole spread.
    trace, durations, _ = paused_run(3, 4000, 400.0, 40e-6, seed=3, algo="lock")
    table = trace.table
    cpu = 0.3 * durations
    recorded = cpu[np.lexsort((table["t_read"].to_numpy(), table["worker"].to_numpy()))]
    compute = calibrate_profile(trace, cores=2, gradient_cpu=recorded).compute.samples
    assert compute.std() == pytest.approx(cpu.std(), rel=0.05)
