"""A run starts when no other thread of the process is on a core
(:mod:`real_exec.executor.quiet_start`), and leaves none there."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from numba import njit
from threadpoolctl import threadpool_info

from real_exec import RunConfig
from real_exec.executor.native import thread_cpu
from real_exec.executor.problems import make_problem
from real_exec.executor.quiet_start import running_threads, wait_until_quiet
from real_exec.executor.runner import run


@njit(nogil=True)
def _spin(seconds: float) -> None:
    """Compute on the core, interpreter lock released, for ``seconds`` of this thread's CPU."""
    start = thread_cpu()
    while thread_cpu() - start < seconds:
        pass


def spinner(seconds: float) -> threading.Thread:
    """A thread spinning on a core for ``seconds`` (compiled first, so it spins at once)."""
    _spin(0.0)
    thread = threading.Thread(target=_spin, args=(seconds,))
    thread.start()
    return thread


def test_the_wait_lasts_until_the_other_thread_leaves_the_core() -> None:
    # A thread spins 0.3 s of CPU: the wait ends after it, as the process is quiet then.
    # Bounds: the spinner needs its 0.3 s of CPU; at most 1 of 2 cores is shared with the
    # sampling thread, so it finishes within 0.6 s of wall time, and the last window adds
    # 5 ms.
    thread = spinner(0.3)
    start = wait_until_quiet(timeout=2.0)
    thread.join()
    assert 0.28 <= start.waited <= 0.8
    assert start.busy < 0.1


def test_the_wait_is_bounded_and_says_the_process_was_busy() -> None:
    thread = spinner(1.0)
    start = wait_until_quiet(timeout=0.2)
    assert 0.2 <= start.waited < 0.5  # the bound, plus at most one window
    assert start.busy >= 0.5  # the spinner runs in nearly every sample
    thread.join()


def test_a_quiet_process_starts_at_once_and_an_unreadable_one_too(tmp_path: object) -> None:
    quiet = wait_until_quiet()
    assert quiet.waited < 0.1 and quiet.busy < 0.1
    unknown = wait_until_quiet(tasks="/nonexistent/task")
    assert unknown.waited < 0.01 and np.isnan(unknown.busy)
    assert running_threads("/nonexistent/task") is None


def test_a_run_waits_for_a_busy_thread_and_records_it() -> None:
    problem = make_problem("quadratic", np.random.default_rng(0))
    config = RunConfig("hogwild", 1, eta=0.01, gradients=50, seed=0)
    run(config, problem)  # compiled now, so that the run below prepares in milliseconds
    thread = spinner(0.3)
    result = run(config, problem)
    thread.join()
    # the spinner's 0.3 s of CPU is mostly still ahead when the run's wait begins
    assert result.trace.meta["start_wait"] >= 0.2
    assert result.trace.meta["start_busy"] < 0.1


@pytest.mark.skipif(
    not any(i.get("internal_api") == "openblas" and i["num_threads"] > 1 for i in threadpool_info()),
    reason="needs a multi-threaded OpenBLAS, whose threads spin after a call",
)
def test_a_run_leaves_no_blas_thread_on_a_core() -> None:
    # The run's own evaluations (of the initial and the final parameters: matrix products of
    # the MLP over the data set) use one thread: a helper thread of a multi-threaded BLAS
    # would spin on a core for a while after them, into the next run's start.
    problem = make_problem("digits-mlp", np.random.default_rng(0))
    run(RunConfig("hogwild", 1, eta=0.05, gradients=20, seed=0), problem)
    counts = []
    for _ in range(20):
        counts.append(running_threads())
        time.sleep(0.001)
    assert sum(counts) == 0
