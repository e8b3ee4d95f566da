"""Slow workers in real runs (``RunConfig.speeds``, ``asgd run --speeds``): each gradient of
thread i takes ``speeds[i]`` times as long, on the core (``spin``) or off it (``sleep``)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from numba import njit

from real_exec import RunConfig
from real_exec.executor.kernels import quadratic_kernel
from real_exec.executor.native import thread_cpu
from real_exec.executor.problems import Problem, make_problem
from real_exec.executor.runner import run
from tests.helpers import run_cli

#: CPU seconds of the fake gradient below: long against the loop's own microseconds.
COST = 4e-4


@njit(nogil=True)
def _known_cost(p: Any, out: Any, data: Any, ws: Any) -> None:
    """The quadratic's gradient, then computing on the core until ``COST`` CPU seconds."""
    start = thread_cpu()
    quadratic_kernel(p, out, data, ws)
    while thread_cpu() - start < COST:
        pass


def quadratic() -> Problem:
    return make_problem("quadratic", np.random.default_rng(0))


def known_cost() -> Problem:
    return replace(make_problem("quadratic", np.random.default_rng(0)), kernel=_known_cost)


def per_worker(result: Any) -> tuple[Any, Any, Any]:
    """Each worker's gradients, median gradient phase (wall) and median gradient CPU seconds
    (medians: a gradient preempted by another process, a rare event on a shared machine,
    lengthens a mean by tens of microseconds and the factor not at all)."""
    table = result.trace.table
    phase = (table["t_grad_done"] - table["t_read"]).groupby(table["worker"]).median()
    counts = table.groupby("worker").size()
    # gradient_cpu holds each worker's rows in turn (worker 0's first).
    cpu = np.split(result.gradient_cpu, np.cumsum(counts.to_numpy())[:-1])
    return counts, phase, np.array([np.median(c) for c in cpu])


@pytest.mark.parametrize("algo", ["lock", "hogwild", "leashed", "sync"])
def test_each_thread_takes_its_factor_cycled_over_the_threads(algo: str) -> None:
    # Threads 0 and 2 run at full speed, thread 1 at 2.5x and thread 3 at 1.5x ((1, 2.5, 1.5)
    # cycled: fractions work). With a fake gradient of 0.4 ms of CPU, the gradient phase of
    # thread i is speeds[i] x 0.4 ms plus the loop's microseconds: 10% leaves room for the
    # loop and the clock calls and fails if a factor is off by one step (2.5 against 1.5 or 1).
    # One thread per core at most, so that no thread is preempted and the wall time is the CPU's.
    threads = 2
    config = RunConfig(algo, threads, eta=0.01, gradients=400, seed=0, speeds=(1.0, 2.5, 1.5))
    assert config.worker_speeds() == (1.0, 2.5)
    result = run(config, known_cost())
    _, phase, cpu = per_worker(result)
    expected = np.array([1.0, 2.5]) * COST
    assert phase.to_numpy() == pytest.approx(expected, rel=0.10)
    # spin computes on the core: the thread's CPU time carries the factor too
    assert cpu == pytest.approx(expected, rel=0.10)
    assert result.trace.meta["speeds"] == [1.0, 2.5] and result.trace.meta["slow_mode"] == "spin"


@njit(nogil=True)
def _counted(p: Any, out: Any, data: Any, ws: Any) -> None:
    """:func:`_known_cost` on ``data[0]``, counting its calls in ``data[1]``."""
    _known_cost(p, out, data[0], ws)
    data[1][0] += 1


def test_a_spinning_worker_fills_its_extra_time_with_gradients() -> None:
    # A slow core is slow at computing, memory traffic included: spin fills the extra time
    # with whole gradients (into a spare buffer, another minibatch), then spins the rest.
    # At 3.5x of a 0.4 ms gradient: 2 more gradients (2.5 phases to fill; a third fits only
    # if the phase before them took 4/3 of a gradient), then half a phase spun.
    base = known_cost()
    calls = np.zeros(1, dtype=np.int64)
    counted = replace(base, kernel=_counted, data=(base.data, calls))
    run(RunConfig("lock", 1, eta=0.01, gradients=200, seed=0), counted)
    outside = int(calls[0]) - 200  # the kernel's calls outside the worker's loop (checks)
    calls[0] = 0
    result = run(RunConfig("lock", 1, eta=0.01, gradients=200, seed=0, speeds=(3.5,)), counted)
    # 2 more per gradient. The rule reads the thread's CPU clock, which on a virtual machine
    # also counts time the host stole from the thread: a first phase that reads a third longer
    # than a gradient gets a third one (7% of gradients once in CI), an extra that reads half
    # again as long leaves room for one only. So the mean extras per gradient is held between
    # the neighbouring rules, 2 +- 0.5: bare spinning gives 0, filling while any time is left
    # (or one more than fits) gives 3, and noise moves the mean by far less than 0.5.
    extras = (calls[0] - outside - 200) / 200
    assert 1.5 < extras < 2.5
    _, phase, _ = per_worker(result)
    assert phase[0] == pytest.approx(3.5 * COST, rel=0.10)


def test_cycling_over_more_threads_than_factors() -> None:
    assert RunConfig("hogwild", 5, eta=0.1, gradients=1, speeds=(1, 2.5, 1.5)).worker_speeds() == (
        1.0,
        2.5,
        1.5,
        1.0,
        2.5,
    )
    # more factors than threads is fine: the first ones are used
    assert RunConfig("hogwild", 1, eta=0.1, gradients=1, speeds=(3, 1)).worker_speeds() == (3.0,)


def test_sleep_mode_waits_off_the_core() -> None:
    # With sleep the slow thread's wall time carries the factor and its CPU time does not:
    # it sleeps for the extra time. The wake-up latency of a sleeping thread (tens of
    # microseconds on a virtual machine) lengthens the phase, hence 15% of 1.2 ms.
    config = RunConfig("hogwild", 2, eta=0.01, gradients=300, seed=0, speeds=(1, 3), slow_mode="sleep")
    result = run(config, known_cost())
    _, phase, cpu = per_worker(result)
    assert phase[1] == pytest.approx(3 * COST, rel=0.15)
    assert cpu[1] == pytest.approx(COST, rel=0.15)
    assert result.trace.meta["slow_mode"] == "sleep"


def test_factor_one_changes_nothing_in_the_trace() -> None:
    # speeds 1 is the default: same algorithm, same seed, one thread, same gradients: the
    # same updates (the loss path) whether given or not.
    a = run(
        RunConfig("lock", 1, eta=0.05, gradients=500, seed=3),
        make_problem("quadratic", np.random.default_rng(0)),
    )
    b = run(
        RunConfig("lock", 1, eta=0.05, gradients=500, seed=3, speeds=(1, 1)),
        make_problem("quadratic", np.random.default_rng(0)),
    )
    np.testing.assert_array_equal(a.params, b.params)
    assert b.trace.meta["speeds"] == [1.0]


@pytest.mark.parametrize(
    ("speeds", "slow_mode", "message"),
    [
        ((), "spin", "at least one factor"),
        ((1.0, 0.0), "spin", "got 0.0"),
        ((-2.0,), "spin", "got -2.0"),
        ((float("nan"),), "spin", "got nan"),
        ((0.5,), "spin", "got 0.5"),
        (("4",), "spin", "got '4'"),
        ((1.0,), "sideways", "slow_mode"),
    ],
)
def test_bad_speeds_are_refused(speeds: tuple[Any, ...], slow_mode: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RunConfig("lock", 2, eta=0.1, gradients=10, speeds=speeds, slow_mode=slow_mode)


@pytest.mark.parametrize("value", ["0", "1,-1", "nan", "", "1,x", "fast", "1,,4", "inf"])
@pytest.mark.parametrize("command", ["run", "validate", "predict"])
def test_bad_speeds_on_the_command_line_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], command: str, value: str
) -> None:
    extra = {"run": ["--gradients", "10"], "validate": [], "predict": ["--target-loss-fraction", "0.5"]}
    code, out, err = run_cli(
        capsys, command, "--algo", "lock", "--threads", "2", "--problem", "quadratic", *extra[command],
        "--speeds", value,
    )  # fmt: skip
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "--speeds" in lines[0], err


def test_more_factors_than_threads_on_the_command_line_is_fine(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        capsys, "run", "--algo", "lock", "--threads", "1", "--problem", "quadratic", "--gradients", "50",
        "--speeds", "2,1,1", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["updates"] == 50


@pytest.mark.parametrize("algo", ["lock", "hogwild", "leashed", "sync"])
def test_the_calibration_recovers_the_factors(algo: str) -> None:
    # The calibration is not told the factors: it finds each worker's mean gradient time over
    # the fastest one's in the Trace. Within 10%, the goal, with the fake 0.4 ms gradient
    # (the loop's microseconds and, for lock-based SGD, the copy under the mutex are not slowed).
    from real_exec.study.validate import validate_run

    config = RunConfig(algo, 2, eta=0.01, gradients=400, seed=0, speeds=(1, 3), check_updates=False)
    v = validate_run(run(config, known_cost()))
    assert v.profile.speeds(2) == pytest.approx([1.0, 3.0], rel=0.10)
    assert v.summary()["speeds"] == {"given": [1.0, 3.0], "recovered": list(v.profile.speeds(2))}


def test_a_forecast_never_calibrates_on_the_factors_it_predicts(monkeypatch: pytest.MonkeyPatch) -> None:
    # predict --speeds 1,4 --measure: the calibration run is this machine as it is, the
    # simulated schedule gets the factors, the measured runs have them for real.
    from real_exec.executor.monitor import Target
    from real_exec.study.predict import forecast as fc

    configs: list[RunConfig] = []
    real_run = fc.run

    def spy(config: RunConfig, *args: Any, **kwargs: Any) -> Any:
        configs.append(config)
        return real_run(config, *args, **kwargs)

    monkeypatch.setattr(fc, "run", spy)
    problem = make_problem("quadratic", np.random.default_rng(0))
    profile = fc.calibrate_here(problem, "lock", 2, eta=0.01, seconds=0.2)
    assert [c.speeds for c in configs] == [(1.0,)]
    # This machine has no slow worker: had the calibration seen the factors, the second
    # worker would calibrate to about 4. (Not closer to 1: on a loaded machine a 0.2-s run
    # can make one worker look 1.6 times slower, its thread preempted now and then.)
    assert max(profile.speeds(2)) < 2.5
    trial = fc.Trial("lock", 2, 0.01, Target(None, 0.5), 0.5, reps=1, speeds=(1, 4))
    predicted = fc.forecast(problem, trial, profile)
    assert predicted.profile is not None
    base = float(np.mean(profile.speed))
    assert predicted.profile.speed == pytest.approx((base, 4.0 * base))
    fc.measure(problem, trial)
    assert [c.speeds for c in configs[1:]] == [(1.0, 4.0)]


def test_the_simulated_speed_slows_the_gradient_only() -> None:
    # A profile's speed is the worker's factor on its gradient time (tau_i); reads and
    # publishes are memory phases and keep their durations.
    from staleness_sim.durations import Durations
    from staleness_sim.profile import HardwareProfile
    from staleness_sim.timing import parse_timing

    p = HardwareProfile(
        compute=parse_timing("const:1"), read=parse_timing("const:0.25"), publish=parse_timing("const:0.5"),
        speed=(1.0, 4.0),
    )  # fmt: skip
    fast, slow = (Durations.draw(p, 2, 100, seed=0).worker(i) for i in (0, 1))
    assert (fast.compute(), slow.compute()) == (1.0, 4.0)
    assert (fast.read(), slow.read()) == (0.25, 0.25)
    assert (fast.publish(), slow.publish()) == (0.5, 0.5)


def test_validate_says_the_speeds_given_and_calibrated(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["validate", "--algo", "lock", "--threads", "2", "--problem", "digits-mlp", "--seconds", "0.3"]
    code, out, err = run_cli(capsys, *args, "--speeds", "1,3")
    assert code == 0, err
    line = next(x for x in out.splitlines() if "worker speeds" in x)
    given, calibrated = line.split("given ")[1].split("; calibrated ")
    assert given == "1, 3"
    factors = [float(v) for v in calibrated.split(", ")]
    # digits-mlp's gradients are tens of microseconds: the recovered factor is the ratio the
    # run had (docs/validation.md, "Slow workers"), within 2.5-4 of the 3 asked here.
    assert factors[0] == 1.0 and 2.5 < factors[1] < 4.0
    code, out, err = run_cli(capsys, *args)
    assert code == 0 and "staleness TV" in out and "worker speeds" not in out  # no slow worker, no line
