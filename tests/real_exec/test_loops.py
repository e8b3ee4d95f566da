"""The compiled worker loops: the budget, the stop flag, the start gate, OS calls."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from numba import njit

from real_exec import RunConfig
from real_exec.executor.algorithms import LOOPS
from real_exec.executor.algorithms.steps import STOP, STOPPED
from real_exec.executor.atomics import fetch_add
from real_exec.executor.kernels import quadratic_kernel
from real_exec.executor.native import Mutex, monotonic, mutex_lock, mutex_unlock, now, thread_cpu
from real_exec.executor.problems import Problem, make_problem
from real_exec.executor.run_context import RunContext
from real_exec.executor.runner import run
from real_exec.study.predict.replay import replay
from tests.real_exec.predict.hand_made import hand_quadratic

ALGOS = ["lock", "hogwild", "leashed", "sync", "rennala"]


def quadratic() -> Problem:
    return make_problem("quadratic", np.random.default_rng(0))


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize("threads", [1, 3])
def test_the_budget_is_exact(algo: str, threads: int) -> None:
    # 3,003 is a multiple of 3: a synchronous round is m gradients, so sync computes the
    # budget rounded up to whole rounds; the asynchronous algorithms claim each gradient
    # with an atomic counter and compute exactly the budget.
    result = run(RunConfig(algo, threads, eta=0.05, gradients=3003, seed=1), quadratic())
    assert result.counted == len(result.trace) == 3003
    assert sorted(result.trace.table.groupby("worker").size().index) == list(range(threads))


@njit(nogil=True)
def _stop_at_call(p: Any, out: Any, data: Any, ws: Any) -> None:
    calls, ctrl, at, base = data
    if fetch_add(calls, 0, 1) + 1 == at:
        ctrl[STOP] = 1
    quadratic_kernel(p, out, base, ws)


@pytest.mark.parametrize("algo", ALGOS)
def test_the_stop_flag_stops_every_worker_within_one_gradient(algo: str) -> None:
    # The kernel of gradient K raises the stop flag itself, the way the main thread does.
    # Each worker may finish the gradient it is computing, and none starts another (a
    # synchronous round also ends with its m gradients): K <= gradients <= K + m - 1.
    # Without a stop check before each gradient, the workers would run on to the budget.
    m, at = 4, 2000
    base = quadratic()
    ctx = RunContext(RunConfig(algo, m, eta=0.01, gradients=10**9, seed=0), base)
    calls = np.zeros(1, dtype=np.int64)
    problem = replace(base, kernel=_stop_at_call, data=(calls, ctx.ctrl, at, base.data))
    ctx.problem = problem
    make_state, loop = LOOPS[algo]
    shared = make_state(problem.init(np.random.default_rng(0)), ctx.config)
    statuses: list[int] = []

    def body(i: int) -> None:
        grad = ctx.gradient_buffer(i, shared)
        statuses.append(loop(*ctx.arguments(i, shared, problem.workspace(), grad)))

    threads = [threading.Thread(target=body, args=(i,)) for i in range(m)]
    for t in threads:
        t.start()
    while ctx.ready() < m:
        time.sleep(0.001)
    ctx.open_gate()
    for t in threads:
        t.join(timeout=60)
    assert statuses == [STOPPED] * m
    assert at <= ctx.counted() <= at + m - 1
    assert int(calls[0]) == ctx.counted()


def test_a_worker_waits_at_the_gate_until_it_opens() -> None:
    ctx = RunContext(RunConfig("hogwild", 1, eta=0.01, gradients=100, seed=0), quadratic())
    make_state, loop = LOOPS["hogwild"]
    shared = make_state(np.zeros(ctx.problem.dim), ctx.config)
    done = threading.Event()

    def body() -> None:
        loop(*ctx.arguments(0, shared, ctx.problem.workspace(), np.empty(ctx.problem.dim)))
        done.set()

    worker = threading.Thread(target=body)
    worker.start()
    while ctx.ready() < 1:
        time.sleep(0.001)
    assert not done.wait(0.2) and ctx.counted() == 0  # ready, and waiting
    ctx.open_gate()
    worker.join(timeout=60)
    assert ctx.counted() == 100
    rows = ctx.recorders[0].array()
    assert rows[0, 2] >= 0.0  # times count from the gate's opening


@njit(nogil=True)
def _clock_pair() -> tuple[float, float]:
    return monotonic(), thread_cpu()


def test_the_compiled_clocks_are_pythons() -> None:
    before, cpu_before = now(), time.thread_time()
    wall, cpu = _clock_pair()
    after, cpu_after = time.perf_counter(), time.thread_time()
    assert before <= wall <= after and cpu_before <= cpu <= cpu_after


@njit(nogil=True)
def _add_under_mutex(mutex: int, counter: Any, n: int) -> None:
    for _ in range(n):
        mutex_lock(mutex)
        counter[0] += 1  # a plain read-modify-write: only the mutex makes it safe
        mutex_unlock(mutex)


def test_the_mutex_excludes() -> None:
    # Four threads, each adding 1 a million times under the mutex, with the GIL released:
    # an unprotected += loses increments (seen: ~60% lost without the lock on 2 cores).
    mutex, counter, n = Mutex(), np.zeros(1, dtype=np.int64), 1_000_000
    _add_under_mutex(mutex.address, counter, 1)
    counter[0] = 0
    threads = [threading.Thread(target=_add_under_mutex, args=(mutex.address, counter, n)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter[0] == 4 * n


_SCRIPT_KERNEL = """
import numpy as np
from dataclasses import replace
from numba import njit
from real_exec import RunConfig, make_problem, run
from real_exec.executor.kernels import quadratic_kernel

@njit(nogil=True)
def script_kernel(p, out, data, ws):  # a kernel only this script defines
    quadratic_kernel(p, out, data, ws)

problem = make_problem("{problem}", np.random.default_rng(0))
if {custom}:
    problem = replace(problem, kernel=script_kernel)
print(run(RunConfig("hogwild", 1, eta=0.01, gradients=50), problem).counted)
"""


def test_a_kernel_defined_in_a_script_does_not_break_later_processes(tmp_path) -> None:
    # Regression: with the loops cached on disk, a loop's cache index kept every kernel it was
    # compiled for; once a process had used a kernel that a later process cannot import (one
    # defined in a script), the later process failed when it compiled the loop for another
    # kernel ("ReferenceError: underlying object has vanished").
    first = _SCRIPT_KERNEL.format(problem="quadratic", custom=True)
    later = _SCRIPT_KERNEL.format(problem="lstsq", custom=False)
    for code in (first, later):
        script = tmp_path / "script.py"
        script.write_text(code)
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "50"


@pytest.mark.parametrize("threads, speeds", [(1, (1,)), (2, (1,)), (2, (1, 3))])
def test_a_lock_based_worker_computes_at_the_version_it_read(threads: int, speeds: Any) -> None:
    """A lock-based worker skips the copy when its private copy already holds the version it
    reads (its own update refreshed the copy, or nothing was published since its last read);
    exact gradients, so a replay of the Trace (each gradient at the version its row read,
    applied in publish order) lands where the threads did only if every gradient was
    computed at that version. Speeds (1, 3): the fast worker often updates twice in a row,
    so reads with and without a copy mix."""
    problem = hand_quadratic()
    config = RunConfig("lock", threads, eta=0.1, gradients=400, seed=0, speeds=speeds)
    result = run(config, problem)
    again = replay(result.trace, problem, 0.1, evaluate_every=1e9)
    assert again.updates == 400
    np.testing.assert_allclose(again.params, result.params, rtol=0, atol=1e-12)
