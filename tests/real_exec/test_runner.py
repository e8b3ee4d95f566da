"""Real multithreaded runs: correctness that a test can prove."""

from __future__ import annotations

import _thread
import os
import sys
from dataclasses import replace

import numpy as np
import pytest

from real_exec import RunConfig
from real_exec.executor.machine import usable_cores
from real_exec.executor.problems import Problem, make_problem
from real_exec.executor.runner import WorkerError, run
from tests.helpers import ctrl_c_at_300, hooked_quadratic


def quadratic() -> Problem:
    return make_problem("quadratic", np.random.default_rng(0))


@pytest.mark.parametrize("algo", ["lock", "leashed", "sync"])
def test_no_update_is_lost(algo: str) -> None:
    # final = initial - sum of applied steps; the two sides are summed in different orders,
    # so they agree to float64 rounding (~1e-16 relative per update, 1e4 updates).
    result = run(
        RunConfig(algo, 2, eta=0.05, gradients=10_000, seed=3, persistence=2 if algo == "leashed" else None),
        quadratic(),
    )
    scale = float(np.linalg.norm(result.initial)) + 1.0
    assert result.lost_update_norm is not None and result.lost_update_norm < 1e-9 * scale
    assert result.lost_update_share is not None and abs(result.lost_update_share) < 1e-9


def test_ringmaster_throws_lock_based_gradients_away_and_moves_no_version() -> None:
    # Ringmaster ASGD with lock-based SGD (3 threads on a cheap gradient, R = 1): a gradient
    # that finds the version moved since its read is thrown away under the mutex, as in the
    # paper and the simulator's threshold, not applied with a zero step. So every applied
    # update is fresh, the applied versions are 1..k without a gap (a thrown-away gradient
    # takes none), a thrown-away row has no attempt and no step, nothing is lost, and the
    # Trace says R. With 3 threads some gradients meet a publish between read and publish
    # (the test fails if none do, which a run that applied every gradient would).
    config = RunConfig("lock", 3, eta=0.05, gradients=6000, seed=2, rule="ringmaster", threshold=1)
    result = run(config, quadratic())
    t = result.trace.table
    kept, thrown = t[~t["dropped"]], t[t["dropped"]]
    assert len(thrown) > 0 and (kept["tau"] == 0).all()
    assert np.array_equal(np.sort(kept["apply_version"].to_numpy()), np.arange(1, len(kept) + 1))
    assert (thrown["attempts"] == 0).all() and (thrown["step_size"] == 0).all()
    assert result.lost_update_norm is not None and result.lost_update_norm < 1e-9 * (
        float(np.linalg.norm(result.initial)) + 1.0
    )
    assert result.trace.meta["threshold"] == 1
    # HOGWILD! keeps the rule as a step size: the update is applied with s = 0, its version moves
    hog = run(RunConfig("hogwild", 2, eta=0.05, gradients=2000, seed=2, rule="ringmaster"), quadratic())
    assert not hog.trace.table["dropped"].any() and "threshold" not in hog.trace.meta


def test_every_algorithm_reports_what_it_lost_and_only_when_asked() -> None:
    # The summary carries the run's own figure; under a lock nothing is lost (the norm is the
    # float64 rounding of 10,000 summed steps, < 1e-9); without check_updates there is none.
    # That the figure measures real lost writes: the tamper test below.
    problem = quadratic()
    hog = run(RunConfig("hogwild", 2, eta=0.05, gradients=10_000, seed=3), problem)
    assert hog.lost_update_norm is not None and np.isfinite(hog.lost_update_norm)
    assert hog.summary()["lost_update_norm"] == hog.lost_update_norm
    lock = run(RunConfig("lock", 2, eta=0.05, gradients=10_000, seed=3), problem)
    assert lock.lost_update_norm is not None and lock.lost_update_norm < 1e-9
    off = run(RunConfig("hogwild", 2, eta=0.05, gradients=1_000, seed=3, check_updates=False), problem)
    assert off.lost_update_norm is None


@pytest.mark.parametrize("threads", [1, 2])
def test_lost_update_detector_sees_a_write_outside_the_algorithm(threads: int) -> None:
    # HOGWILD! computes its gradients on the shared vector itself. A "gradient" that also
    # adds 1 to one coordinate, once, is a change no applied step accounts for: the final
    # parameters then differ from initial - sum(steps) by exactly that write (norm 1, up to
    # the float64 rounding of 4000 summed steps, < 1e-9). A detector that always said 0
    # fails here.
    def tamper(n: int, params: np.ndarray) -> None:
        if n == 500:
            params[3] += 1.0

    result = run(RunConfig("hogwild", threads, eta=0.05, gradients=4000, seed=1), hooked_quadratic(tamper))
    assert result.lost_update_norm == pytest.approx(1.0, abs=1e-9)
    # The share lost is <missing, S> / ||S||^2 with missing = e_3 and the applied steps'
    # sum S = initial - (params - e_3). The rounding in missing (norm < 1e-9, as above) moves
    # the share by at most 1e-9 / ||S|| (Cauchy-Schwarz).
    missing = np.zeros_like(result.initial)
    missing[3] = 1.0
    applied = result.initial - (result.params - missing)
    expected = missing @ applied / (applied @ applied)
    assert result.lost_update_share == pytest.approx(expected, abs=1e-9 / np.linalg.norm(applied))


@pytest.mark.parametrize("algo", ["lock", "leashed"])
def test_versions_are_unique_increasing_and_gapless(algo: str) -> None:
    result = run(RunConfig(algo, 2, eta=0.05, gradients=5000, seed=1), quadratic())
    t = result.trace.table
    applied = t[~t["dropped"]]
    versions = applied["apply_version"].to_numpy()
    assert np.array_equal(np.sort(versions), np.arange(1, versions.size + 1))  # unique, no gaps
    for _, own in applied.sort_values("t_read").groupby("worker"):  # each worker's versions increase
        assert np.all(np.diff(own["apply_version"].to_numpy()) > 0)
    assert np.all(applied["tau"] == applied["apply_version"] - 1 - applied["read_version"])
    assert np.all(applied["tau"] >= 0)
    assert len(t) == 5000


def test_sync_has_zero_staleness_and_rounds_of_m() -> None:
    result = run(RunConfig("sync", 2, eta=0.05, gradients=2000, seed=1), quadratic())
    t = result.trace.table
    assert np.all(t["tau"] == 0)
    assert np.all(t.groupby("apply_version").size() == 2)


def test_leashed_persistence_and_memory() -> None:
    result = run(RunConfig("leashed", 2, eta=0.05, gradients=5000, seed=2, persistence=1), quadratic())
    t = result.trace.table
    assert t["attempts"].max() == 1
    assert result.summary()["dropped"] == int(t["dropped"].sum())
    assert 1 <= result.peak_live_vectors <= 2 * 2 + 1


def test_tail_tau_is_fixed_after_the_warm_up() -> None:
    config = RunConfig(
        "hogwild", 2, eta=0.05, gradients=4000, seed=1, rule="tail", warmup=300, warmup_skip=0, amplitude=0.5
    )
    t = run(config, quadratic()).trace.table.sort_values("t_apply")
    steps = t["step_size"].to_numpy()
    assert np.all(steps[:200] == 0.05)  # warm-up at eta0
    assert np.unique(steps[-1000:]).size > 1  # then staleness-dependent
    assert np.all((steps > 0.05 * 0.5 - 1e-12) & (steps < 0.05 * 1.5 + 1e-12))


class Boom(RuntimeError):
    pass


def _boom_after_50(n: int, _params: object) -> None:
    if n > 50:
        raise Boom("kernel failed")


def test_a_worker_exception_reaches_the_caller_with_its_traceback() -> None:
    with pytest.raises(WorkerError, match=r"^worker \d failed: \S*Boom: kernel failed$") as caught:
        run(RunConfig("lock", 2, eta=0.05, seconds=30.0), hooked_quadratic(_boom_after_50))
    assert "\n" not in str(caught.value)  # one line for the user ...
    assert "_boom_after_50" in caught.value.traceback  # ... and the whole traceback kept
    with pytest.raises(WorkerError):
        run(RunConfig("sync", 2, eta=0.05, seconds=30.0), hooked_quadratic(_boom_after_50))


def test_ctrl_c_keeps_the_partial_trace() -> None:
    result = run(RunConfig("hogwild", 2, eta=0.05, seconds=60.0), hooked_quadratic(ctrl_c_at_300))
    assert result.interrupted and len(result.trace) > 0 and result.wall_time < 30


def _ctrl_c_at_first_gradient(n: int, _params: object) -> None:
    if n == 2:  # the first gradient after the runner's warm-up: threads are still starting
        _thread.interrupt_main()


@pytest.mark.parametrize("threads", [2, 8])
def test_ctrl_c_while_the_threads_start_is_an_interrupted_run(threads: int) -> None:
    # Regression: a Ctrl-C that came while the main thread was still starting threads escaped
    # the runner as a KeyboardInterrupt instead of ending the run with what was recorded.
    result = run(
        RunConfig("hogwild", threads, eta=0.05, seconds=60.0), hooked_quadratic(_ctrl_c_at_first_gradient)
    )
    assert result.interrupted and result.wall_time < 30


@pytest.mark.parametrize("algo", ["lock", "hogwild", "leashed", "sync"])
def test_digits_mlp_reaches_95_percent(algo: str) -> None:
    problem = make_problem("digits-mlp", np.random.default_rng(0))
    result = run(RunConfig(algo, 2, eta=0.05, gradients=20_000, seed=0, check_updates=False), problem)
    assert result.final["accuracy"] >= 0.95
    assert result.wall_time < 30


def test_bad_configs() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        RunConfig("lock", 2, eta=0.1)
    with pytest.raises(ValueError, match="algo"):
        RunConfig("magic", 2, eta=0.1, gradients=10)
    with pytest.raises(ValueError, match="dtype"):
        make_problem("quadratic", np.random.default_rng(0), dtype="float16")


def test_sync_stops_cleanly_when_the_deadline_falls_mid_round() -> None:
    # Regression: the stop decision must reach every thread in the same round, or one thread
    # waits at the barrier forever. Many short runs make the race likely; a hang fails here.
    import threading

    problem = quadratic()
    done: list[int] = []

    def many() -> None:
        for k in range(40):
            run(RunConfig("sync", 2, eta=0.05, seconds=0.02, seed=k), problem)
            done.append(k)

    t = threading.Thread(target=many, daemon=True)
    t.start()
    t.join(timeout=120)
    assert not t.is_alive() and len(done) == 40


def test_heavy_ball_direction() -> None:
    from real_exec.executor.kernels import heavy_ball

    v, g = np.zeros(3), np.array([1.0, 2.0, 3.0])
    heavy_ball(v, g, 0.5)
    assert v.tolist() == g.tolist() == [1.0, 2.0, 3.0]
    g2 = np.array([1.0, 0.0, -1.0])
    heavy_ball(v, g2, 0.5)  # v = 0.5 * (1, 2, 3) + (1, 0, -1)
    assert v.tolist() == g2.tolist() == [1.5, 1.0, 0.5]


def test_epochs_bound_the_run_and_are_logged() -> None:
    problem = make_problem("digits-mlp", np.random.default_rng(0), batch=32)
    per_epoch = problem.gradients_per_epoch()
    assert per_epoch == -(-problem.samples // 32) and problem.samples == 1437  # 80% of 1,797
    # Leashed-SGD loses no update, momentum or not (HOGWILD!'s compiled threads do race: its
    # lost share is measured, not zero, see test_lost_update_detector...).
    result = run(RunConfig("leashed", 2, eta=0.05, epochs=2.5, seed=0, momentum=0.5), problem)
    assert result.summary()["gradients"] == int(np.ceil(2.5 * per_epoch))
    assert result.epochs["epoch"].tolist()[-1] == 2 and result.epochs["epoch"].is_monotonic_increasing
    assert result.lost_update_norm < 1e-9 * (float(np.linalg.norm(result.initial)) + 1)
    with pytest.raises(ValueError, match="no training set"):
        run(RunConfig("lock", 1, eta=0.05, epochs=1), quadratic())


def test_tail_tau_uses_the_authors_warm_up_by_default() -> None:
    # m = 2 threads: the first 10 m = 20 updates are skipped, the next 5 m = 10 give the pmf;
    # amplitude 1, so steps range over (0, 2 eta0) once the rule is fixed.
    # Lock-based SGD: its step is taken at the staleness it records (HOGWILD!'s is taken
    # before its atomic increment, and a preempted thread records a larger one).
    config = RunConfig("lock", 2, eta=0.05, gradients=3000, seed=1, rule="tail")
    assert config.warmup_window == (20, 10) and config.amplitude == 1.0
    t = run(config, quadratic()).trace.table.sort_values("t_apply")
    steps = t["step_size"].to_numpy()
    assert np.all(steps[:25] == 0.05)  # warm-up at eta0 (the rule is set at update 30)
    assert np.all((steps >= 0.0) & (steps <= 0.1 + 1e-12))
    # Once the rule is set, the step is a non-increasing function of the staleness, and a
    # fresh update gets (1 + A) eta0 = 0.1 whatever the warm-up saw (F(0) = P(tau < 0) = 0).
    # A loaded machine may run the whole of it without a stale update, so that is all the
    # run can be held to; with the rule never applied every step would stay 0.05.
    late = t.iloc[-1000:]
    by_tau = late.groupby("tau")["step_size"].agg(["min", "max"])
    assert (by_tau["min"] == by_tau["max"]).all() and by_tau["min"].is_monotonic_decreasing
    assert 0 in by_tau.index and by_tau.loc[0, "min"] == pytest.approx(0.1)


def test_the_workers_cpu_time_covers_their_gradients() -> None:
    # The threads' CPU time includes every gradient's (measured inside each thread when
    # threads share cores, as the calibration then needs it) plus the loop around them, and
    # the threads cannot use more CPU-seconds per second than there are cores (5% over for
    # the clocks' granularity).
    cores = usable_cores()
    config = RunConfig("hogwild", cores + 1, eta=0.05, seconds=0.5, seed=0, check_updates=False)
    result = run(config, quadratic())
    assert result.worker_cpu > float(np.sum(result.gradient_cpu)) > 0
    assert result.worker_cpu <= cores * result.wall_time * 1.05
    # With a core each, a gradient's CPU time is not read (a system call per read).
    alone = run(replace(config, threads=1), quadratic())
    assert np.isnan(alone.gradient_cpu).all() and alone.worker_cpu > 0
    # The share of the cores' time the hypervisor took meanwhile: a fraction on Linux (0 on
    # bare metal), absent (None in the JSON) where /proc/stat cannot be read.
    if sys.platform.startswith("linux"):
        assert 0.0 <= result.stolen <= 1.0
        assert result.summary()["stolen"] == result.stolen
    else:
        assert result.summary()["stolen"] is None


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
@pytest.mark.parametrize("algo", ["hogwild", "leashed"])
def test_workers_sharing_a_core_count_the_updates_published_while_they_waited(algo: str) -> None:
    # Two workers pinned to one core take turns on it. Each worker's windows (read to
    # publish) follow each other with only the loop's short gap between them, so the other
    # worker's publishes land in them and the mean staleness is about 1. A worker that
    # reads its CPU clock (a system call, where Linux may end a spent time slice) before
    # its read is preempted in that gap more often, and the other's publishes meanwhile
    # are counted by no one. Measured (digits MLP, 1 s, seeds 0-5, a 2-core VM): 0.998-0.999
    # with the clock read after the read; 0.926-0.948 (HOGWILD!) and 0.896-0.925
    # (Leashed-SGD) with it read before. 0.97 lies between, 15x the deficit of the first.
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(saved)})  # the worker threads inherit it
    try:
        assert usable_cores() == 1
        problem = make_problem("digits-mlp", np.random.default_rng(0))
        result = run(RunConfig(algo, 2, eta=0.05, seconds=1.0, seed=0, check_updates=False), problem)
    finally:
        os.sched_setaffinity(0, saved)
    assert np.isfinite(result.gradient_cpu).all()  # threads beyond the usable cores: clocks read
    assert result.trace.staleness().mean() > 0.97
