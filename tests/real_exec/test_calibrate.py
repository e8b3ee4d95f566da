"""Calibration: the profile a real run's Trace gives, recovered from simulated runs of known profiles."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from real_exec.executor.machine import usable_cores
from real_exec.study.calibrate import calibrate_profile, cas_window, fit_cas_window
from real_exec.study.interpreter_lock import measure_gil_handoff, ran_alone
from staleness_sim import SimConfig, simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import EmpiricalTiming, parse_timing
from theory.compare import compare_traces


def test_calibration_recovers_a_simulated_profile() -> None:
    # A simulated HOGWILD! trace, calibrated and re-simulated, reproduces its staleness and
    # throughput: the calibration inverts what the simulator does (TV of two 20k-samples of
    # the same law ~ 0.01-0.02).
    truth = HardwareProfile(compute=parse_timing("gamma:a=4,scale=0.25"), publish=parse_timing("const:0.05"))
    trace = simulate(SimConfig("hogwild", 4, truth, 20_000, seed=2)).trace
    trace.meta["algorithm"] = "hogwild"
    fitted = calibrate_profile(trace, cores=None)
    assert isinstance(fitted.compute, EmpiricalTiming)
    assert fitted.compute.mean() == pytest.approx(1.0, rel=0.03)
    again = simulate(SimConfig("hogwild", 4, fitted, 20_000, seed=3)).trace
    c = compare_traces(trace, again)
    assert c.tv < 0.03 and c.throughput_ratio == pytest.approx(1.0, rel=0.03)


@pytest.mark.parametrize(("workers", "window"), [(2, 0.2), (2, 0.5), (4, 0.2), (4, 0.5)])
def test_calibration_recovers_the_cas_window_of_a_simulated_leashed_run(workers: int, window: float) -> None:
    # The window formula treats the other workers' publishes as a Poisson stream; on simulated
    # runs of 30k gradients (the window was found within 0.03 of the truth over these cases
    # and seeds) it must land within 0.06, and a calibrated run must fail as often as the truth.
    truth = HardwareProfile().with_overrides(
        compute="gamma:a=8,scale=1.25e-5", publish="gamma:a=4,scale=2.5e-6", cas_window=window
    )
    trace = simulate(SimConfig("leashed", workers, truth, 30_000, seed=1)).trace
    trace.meta["algorithm"] = "leashed"
    fitted = calibrate_profile(trace, cores=None)
    assert fitted.cas_window == pytest.approx(window, abs=0.06)
    again = simulate(SimConfig("leashed", workers, fitted, 30_000, seed=2)).summary()
    expected = (trace.table["attempts"] - 1).sum() / len(trace.table)
    assert again["cas_failures"] / again["gradients"] == pytest.approx(expected, rel=0.15)
    # The whole attempt exposed: the classic model, and what a run that never failed gives.
    one = simulate(SimConfig("leashed", 1, truth, 1000, seed=1)).trace
    one.meta["algorithm"] = "leashed"
    assert calibrate_profile(one, cores=None).cas_window == 1.0


def test_a_compiled_loops_cas_window_is_the_whole_attempt() -> None:
    # A compiled worker loop's attempt holds the latest version first thing and installs it
    # last (real_exec.executor.pool.build): the whole attempt is exposed, so a real run of
    # compiled loops gets the window 1, whatever its failures would give by the Poisson
    # formula; the same Trace, not known to be one, gets the formula's (about 0.2 here).
    truth = HardwareProfile().with_overrides(
        compute="gamma:a=8,scale=1.25e-5", publish="gamma:a=4,scale=2.5e-6", cas_window=0.2
    )
    trace = simulate(SimConfig("leashed", 2, truth, 30_000, seed=1)).trace
    assert calibrate_profile(trace, cores=None).cas_window == pytest.approx(0.2, abs=0.06)
    trace.meta.update(source="real", worker_loop="compiled")
    assert calibrate_profile(trace, cores=None).cas_window == 1.0


@pytest.mark.parametrize(("window", "seed"), [(0.3, 1), (0.6, 2)])
def test_the_cas_window_under_an_interpreter_lock_is_fitted_by_simulation(window: float, seed: int) -> None:
    # Under the GIL the two workers' publish attempts rarely overlap, so the Poisson formula
    # sees far fewer failures than independent attempts would have and underestimates the
    # window (0.07-0.08 for 0.3 here); bisection by simulation (another seed, 5 steps:
    # 1/32 resolution) found 0.30 and 0.58-0.61 over seeds 1-2, hence 0.05 of slack.
    truth = HardwareProfile().with_overrides(
        compute="gamma:a=8,scale=1.25e-5",
        publish="gamma:a=4,scale=5e-6",
        read="const:2e-6",
        cas_window=window,
        gil=True,
        gil_handoff=3e-6,
    )
    trace = simulate(SimConfig("leashed", 2, truth, 20_000, seed=seed)).trace
    fitted = fit_cas_window(trace, replace(truth, cas_window=1.0), seed=seed + 10)
    assert fitted == pytest.approx(window, abs=0.05)
    if window < 0.5:
        assert cas_window(trace, truth.publish.mean()) < window / 2


def test_phases_that_began_while_the_others_computed_did_not_wait_for_the_gil() -> None:
    # Two HOGWILD! workers on a simulated GIL (publish exactly 10 us, compute 50 us on
    # average, no read time: a read under the GIL would start the other's "computing"
    # interval): a publish that began while the other worker computed ran at once, so those
    # rows' publish phases are the constant itself; the others include waits for the GIL.
    truth = HardwareProfile().with_overrides(
        compute="gamma:a=4,scale=1.25e-5", publish="const:1e-5", gil=True, gil_handoff=4e-6
    )
    table = simulate(SimConfig("hogwild", 2, truth, 5000, seed=0)).trace.table
    publish = (table["t_apply"] - table["t_grad_done"]).to_numpy()
    alone = ran_alone(table, "t_grad_done")
    assert 0.5 < alone.mean() < 1.0
    assert np.allclose(publish[alone], 1e-5)
    assert publish[~alone].mean() > 1.2e-5  # waited for the other's publish and the hand-off


@pytest.mark.skipif(usable_cores() < 2, reason="the probe needs two threads running at once")
def test_the_gil_hand_off_probe_measures_a_wake_up() -> None:
    # A thread woken from waiting on the GIL runs microseconds to a few hundred microseconds
    # after the release (18-83 us medians on a 2-core virtual machine); 5 ms is the
    # interpreter's switch interval, after which a waiter forces the switch itself.
    latency = measure_gil_handoff(wait=50e-6, trials=100)
    assert 0 < latency < 5e-3
    with pytest.raises(ValueError, match="wait"):
        measure_gil_handoff(wait=0.0)


def test_time_shared_calibration_spends_the_workers_cpu_time() -> None:
    # With more threads than cores the gradient phase comes from the gradients' CPU times;
    # the CPU the threads spent beyond their modelled phases (here 50 us per gradient over
    # a gradient of 100 us, read and publish) joins the gradient phase, so that the
    # simulated workers spend the same CPU per gradient. Never less than the measured phases.
    truth = HardwareProfile().with_overrides(compute="const:1e-4", publish="const:1e-5", read="const:2e-6")
    trace = simulate(SimConfig("hogwild", 4, truth, 2000, seed=0)).trace
    trace.meta["algorithm"] = "hogwild"
    n, cpu = len(trace), np.full(len(trace), 1e-4)
    plain = calibrate_profile(trace, cores=2, gradient_cpu=cpu)
    phases = plain.compute.mean() + plain.read.mean() + plain.publish.mean()
    assert plain.compute.mean() == pytest.approx(1e-4)
    spent = calibrate_profile(trace, cores=2, gradient_cpu=cpu, worker_cpu=n * (phases + 5e-5))
    assert spent.compute.mean() == pytest.approx(1e-4 + 5e-5)
    assert calibrate_profile(trace, cores=2, gradient_cpu=cpu, worker_cpu=n * 1e-5).compute.mean() == (
        pytest.approx(1e-4)
    )
    # With as many cores as threads the wall-clock phases (read included) already contain it.
    wall = calibrate_profile(trace, cores=4, gradient_cpu=cpu, worker_cpu=n * 1.0)
    assert wall.compute.mean() == pytest.approx(1e-4 + 2e-6)


def test_synchronous_waiters_cpu_is_not_added_to_the_gradient() -> None:
    # Synchronous SGD's waiters yield in a loop and keep their core where nothing else waits
    # for it, so its threads' CPU beyond the phases is waiting at the barrier: on time-shared
    # cores it must not lengthen the gradient (it did, and the simulated rounds of 3 threads
    # on 2 cores came out 0.77-0.83 times as fast as the real ones). HOGWILD! above keeps it.
    truth = HardwareProfile().with_overrides(compute="const:1e-4", publish="const:1e-5")
    trace = simulate(SimConfig("sync", 3, truth, 3000, seed=0)).trace
    trace.meta["algorithm"] = "sync"
    n, cpu = len(trace), np.full(len(trace), 1e-4)
    plain = calibrate_profile(trace, cores=2, gradient_cpu=cpu)
    waited = calibrate_profile(trace, cores=2, gradient_cpu=cpu, worker_cpu=n * 3e-4)
    assert plain.compute.mean() == pytest.approx(1e-4)
    assert waited.compute.mean() == pytest.approx(plain.compute.mean())


def test_time_shared_calibration_counts_slow_workers_cpu_at_their_speed() -> None:
    # Workers 1 and 3 of 4 slowed 4x on 2 cores: their gradients take 4e-4 s of CPU, the
    # others' 1e-4. CPU spent exactly in those phases is no extra CPU: the fitted gradient
    # (for a nominal worker) stays 1e-4. Extra CPU of 5e-5 per gradient joins it divided by
    # the rows' mean speed factor, so that the simulated workers spend as much CPU in all.
    truth = HardwareProfile().with_overrides(
        compute="const:1e-4", publish="const:1e-5", read="const:2e-6", speed=[1.0, 4.0]
    )
    trace = simulate(SimConfig("hogwild", 4, truth, 2000, seed=0)).trace
    trace.meta["algorithm"] = "hogwild"
    factor = np.where(trace.table["worker"].to_numpy() % 2 == 1, 4.0, 1.0)
    workers = trace.table["worker"].to_numpy()
    n, cpu = len(trace), 1e-4 * factor[np.argsort(workers, kind="stable")]  # recorded worker by worker
    plain = calibrate_profile(trace, cores=2, gradient_cpu=cpu)
    assert plain.speed == pytest.approx((1.0, 4.0, 1.0, 4.0))
    other = plain.read.mean() + plain.publish.mean()
    exact = calibrate_profile(trace, cores=2, gradient_cpu=cpu, worker_cpu=float(cpu.sum()) + n * other)
    assert exact.compute.mean() == pytest.approx(1e-4)
    more = calibrate_profile(
        trace, cores=2, gradient_cpu=cpu, worker_cpu=float(cpu.sum()) + n * (other + 5e-5)
    )
    assert more.compute.mean() == pytest.approx(1e-4 + 5e-5 / factor.mean())


def test_time_shared_speeds_ignore_the_preempted_gradients_tail() -> None:
    # Four workers of one speed on 2 cores; worker 0 was preempted more often, and a fifth
    # of its gradients paid 3x the CPU for refilled caches (its mean is 1.4x the others').
    # That is where Linux placed it, not its speed: the calibrated factors stay 1. Worker 3,
    # slowed 4x throughout, is still found (4x its typical gradient).
    truth = HardwareProfile().with_overrides(compute="const:1e-4", publish="const:1e-5")
    trace = simulate(SimConfig("hogwild", 4, truth, 4000, seed=0)).trace
    trace.meta["algorithm"] = "hogwild"
    workers = np.sort(trace.table["worker"].to_numpy(), kind="stable")  # recorded worker by worker
    rank = np.arange(workers.size) - np.searchsorted(workers, workers)  # index within the worker
    tail = (workers == 0) & (rank % 5 == 0)
    cpu = 1e-4 * np.where(tail, 3.0, 1.0) * np.where(workers == 3, 4.0, 1.0)
    profile = calibrate_profile(trace, cores=2, gradient_cpu=cpu)
    assert profile.speed == pytest.approx((1.0, 1.0, 1.0, 4.0))


def test_time_shared_lock_runs_model_their_interpreted_code_under_the_gil() -> None:
    # A lock-based run of real threads on fewer cores than threads: the CPU per gradient
    # beyond the gradient's (1e-4) and the phases under the mutex becomes interpreted code
    # outside the mutex, under the GIL, instead of joining the gradient phase. 3e-5 here.
    truth = HardwareProfile().with_overrides(compute="const:1e-4", publish="const:1e-5", read="const:2e-6")
    trace = simulate(SimConfig("lock", 4, truth, 2000, seed=0)).trace
    trace.meta.update(algorithm="lock", source="real")
    n, cpu = len(trace), np.full(len(trace), 1e-4)
    plain = calibrate_profile(trace, cores=2, gradient_cpu=cpu, gil_handoff=3e-5)
    assert (plain.interpreted, plain.gil) == (0.0, False)  # no CPU total: the earlier model
    phases = 1e-4 + plain.read.mean() + plain.publish.mean()
    fitted = calibrate_profile(
        trace, cores=2, gradient_cpu=cpu, worker_cpu=n * (phases + 3e-5), gil_handoff=3e-5
    )
    assert fitted.interpreted == pytest.approx(3e-5) and fitted.gil and fitted.gil_handoff == 3e-5
    assert fitted.compute.mean() == pytest.approx(1e-4)  # the gradient's CPU time alone
    # With a core per thread the wall-clock phases contain it: no interpreted code.
    assert calibrate_profile(trace, cores=4, gradient_cpu=cpu, worker_cpu=n * 1.0).interpreted == 0.0


@pytest.mark.parametrize("algo", ["hogwild", "lock"])
def test_time_shared_calibration_turns_cpu_seconds_into_the_runs_seconds(algo: str) -> None:
    # On cores stolen 20% of the time by the hypervisor a CPU second lasts 1 / 0.8 = 1.25
    # wall-clock seconds: the phases taken from CPU time (the gradient, the CPU beyond the
    # phases, lock-based interpreted code) grow by that factor, the wall-clock samples (read,
    # publish) do not. No measurement, or one outside [0, 1), changes nothing.
    truth = HardwareProfile().with_overrides(compute="const:1e-4", publish="const:1e-5", read="const:2e-6")
    trace = simulate(SimConfig(algo, 4, truth, 2000, seed=0)).trace
    trace.meta.update(algorithm=algo, source="real")
    n, cpu = len(trace), np.full(len(trace), 1e-4)

    def fit(stolen: float | None, cores: int = 2) -> HardwareProfile:
        return calibrate_profile(
            trace, cores, gradient_cpu=cpu, worker_cpu=n * 2e-4, gil_handoff=3e-5, stolen=stolen
        )

    base, stolen = fit(None), fit(0.2)
    assert stolen.compute.mean() == pytest.approx(1.25 * base.compute.mean())
    assert stolen.interpreted == pytest.approx(1.25 * base.interpreted)
    assert (algo == "lock") == (base.interpreted > 0)
    assert (stolen.read.mean(), stolen.publish.mean()) == (base.read.mean(), base.publish.mean())
    for unusable in (float("nan"), 1.0, -0.1, 0.0):
        assert fit(unusable).compute.mean() == base.compute.mean()
    # With a core per thread the wall-clock phases contain the stolen time already.
    assert fit(0.2, cores=4).compute.mean() == fit(None, cores=4).compute.mean()


def test_synchronous_calibration_takes_the_publish_of_each_rounds_last_arrival() -> None:
    # The last arrival of a round waited for no one: its publish phase is the update itself
    # (gamma, mean 0.1, with a lower decile near 0.05 that the other samples' waits would
    # not change). 2,000 rounds: the mean of 2,000 gamma(4) draws is within 3% of 0.1 (SE
    # 1.1%), and re-simulated the round rate matches within 3%.
    truth = HardwareProfile().with_overrides(compute="gamma:a=4,scale=0.25", publish="gamma:a=4,scale=0.025")
    trace = simulate(SimConfig("sync", 2, truth, 4000, seed=1)).trace
    trace.meta["algorithm"] = "sync"
    fitted = calibrate_profile(trace, cores=None)
    assert fitted.publish.mean() == pytest.approx(0.1, rel=0.03)
    rates = [simulate(SimConfig("sync", 2, p, 4000, seed=2)).summary()["throughput"] for p in (truth, fitted)]
    assert rates[1] == pytest.approx(rates[0], rel=0.03)


@pytest.mark.parametrize("handoff", [0.02, 0.05])
def test_calibration_recovers_the_lock_wake_up_latency(handoff: float) -> None:
    # 4 workers on a barging lock, publish 0.1 under it, reads 0.01: a publish that waited
    # ends handoff + 0.1 after the release it waited for. The estimate is a median over
    # thousands of waits (2.9% and 2.8% off here); a read taken in between can add up to
    # 0.01, so 0.006 of slack. Re-simulated with the fitted profile, the throughput matches.
    truth = HardwareProfile().with_overrides(
        compute="gamma:a=4,scale=0.25", publish="const:0.1", read="const:0.01", lock_handoff=handoff
    )
    trace = simulate(SimConfig("lock", 4, truth, 20_000, seed=1)).trace
    trace.meta["algorithm"] = "lock"
    fitted = calibrate_profile(trace, cores=None)
    assert fitted.lock_handoff == pytest.approx(handoff, abs=0.006)
    assert fitted.publish.mean() == pytest.approx(0.1, rel=0.03)  # the publishes that found it free
    rates = [
        simulate(SimConfig("lock", 4, p, 20_000, seed=2)).summary()["throughput"] for p in (truth, fitted)
    ]
    assert rates[1] == pytest.approx(rates[0], rel=0.02)


@pytest.mark.parametrize("convoy", [2e-6, 4e-6])
def test_calibration_recovers_the_convoy_of_hogwild_publishes(convoy: float) -> None:
    # A simulated HOGWILD! run whose publishes meet: every publish begun under another's
    # ends convoy x (the share of it already done) after it, so the median of the ratio is
    # the convoy itself (to rounding). The run shows the coupling (below 0.97) that makes
    # the calibration model it; without a convoy the same run is uncoupled and gets none.
    profile = HardwareProfile(
        compute=parse_timing("gamma:a=16,scale=2e-6"),
        read=parse_timing("gamma:a=4,scale=2.5e-7"),  # the loop's gap before the version is read
        publish=parse_timing("gamma:a=8,scale=2.5e-6"),
        cores=2,
    )
    met = simulate(SimConfig("hogwild", 2, replace(profile, convoy=convoy), 20_000, seed=1)).trace
    assert calibrate_profile(met, cores=2).convoy == pytest.approx(convoy, rel=1e-6)
    alone = simulate(SimConfig("hogwild", 2, profile, 20_000, seed=1)).trace
    assert calibrate_profile(alone, cores=2).convoy == 0.0
    # Three workers time-sharing two cores (a 3 ms slice): the convoy still couples them in
    # the simulator (coupling 0.87 and 0.93 with this seed) and is recovered from the Trace.
    shared = replace(profile, quantum=0.003)
    met = simulate(SimConfig("hogwild", 3, replace(shared, convoy=convoy), 20_000, seed=1)).trace
    assert calibrate_profile(met, cores=2).convoy == pytest.approx(convoy, rel=1e-6)
    alone = simulate(SimConfig("hogwild", 3, shared, 20_000, seed=1)).trace
    assert calibrate_profile(alone, cores=2).convoy == 0.0


def test_calibration_recovers_the_reversed_convoys_and_the_paired_gradients() -> None:
    # A simulated HOGWILD! run with timings like the Fashion-MNIST MLP's (240-us gradients,
    # 80-us publishes): a fifth of the convoy's publishes end first, and a gradient begun
    # within 24 us after the other worker's takes its time times U(1, 1.15). The calibration
    # pairs the gradients begun within a tenth of the median gradient (about the same 24 us),
    # so it finds the same pairs and their ratios; the reversed share is a binomial share of
    # about 8,000 convoy publishes (standard error 0.005: the tolerance is four of them).
    profile = HardwareProfile(
        compute=parse_timing("gamma:a=100,scale=2.4e-6"),
        read=parse_timing("gamma:a=4,scale=1.25e-7"),
        publish=parse_timing("gamma:a=8,scale=1e-5"),
        cores=2,
        convoy=9e-6,
        convoy_reversed=0.2,
        paired_window=2.4e-5,
        paired_ratio=parse_timing("uniform:loc=1.0,scale=0.15"),
    )
    trace = simulate(SimConfig("hogwild", 2, profile, 20_000, seed=1)).trace
    fitted = calibrate_profile(trace, cores=2)
    assert fitted.convoy == pytest.approx(9e-6, rel=1e-6)
    assert fitted.convoy_reversed == pytest.approx(0.2, abs=0.02)
    assert fitted.paired_window == pytest.approx(2.4e-5, rel=0.05)
    ratios = fitted.paired_ratio.samples  # type: ignore[attr-defined]
    assert ratios.size > 5_000
    assert np.quantile(ratios, [0.01, 0.5, 0.99]) == pytest.approx([1.0015, 1.075, 1.1485], abs=0.005)
    # no convoy: none of it
    free = simulate(SimConfig("hogwild", 2, replace(profile, convoy=0.0), 20_000)).trace
    alone = calibrate_profile(free, cores=2)
    assert (alone.convoy, alone.convoy_reversed, alone.paired_window) == (0.0, 0.0, 0.0)


def test_calibration_recovers_the_stall_of_leashed_gradients() -> None:
    # A simulated Leashed-SGD run whose gradients stall 6 us when another worker's publish
    # is under way at their read or begins within 10 us of it. The calibration tries windows
    # in quarters of the median publish attempt (about 8 us here, so 2 us steps) and takes
    # the one with the largest difference of the two groups' mean gradient times: that
    # difference is the stall, diluted by the nearest window's misclassified gradients, a
    # few percent (10% allows for it). Without a stall, the same run gets none; with
    # time-shared cores, it comes from the gradients' CPU times, and without those none is
    # modeled.
    profile = HardwareProfile(
        compute=parse_timing("gamma:a=16,scale=2e-6"),
        read=parse_timing("gamma:a=4,scale=2.5e-8"),
        publish=parse_timing("gamma:a=16,scale=5e-7"),
        cores=2,
    )
    stalled = replace(profile, stall=6e-6, stall_window=1e-5)
    trace = simulate(SimConfig("leashed", 2, stalled, 20_000, seed=1)).trace
    fitted = calibrate_profile(trace, cores=2)
    assert fitted.stall == pytest.approx(6e-6, rel=0.10)
    assert fitted.stall_window == pytest.approx(1e-5, abs=2e-6)
    # the gradient samples lose the stall they contained: the fitted mean is the drawn one
    assert fitted.compute.mean() == pytest.approx(32e-6, rel=0.03)
    plain = simulate(SimConfig("leashed", 2, profile, 20_000, seed=1)).trace
    assert calibrate_profile(plain, cores=2).stall == 0.0
    assert calibrate_profile(trace, cores=1).stall == 0.0
    # The same run as if time-shared and never preempted: its CPU times are its gradient
    # phases, given worker by worker as a run records them. The stall comes from them; the
    # two workers' speed factors are their median CPU times' ratio there (their mean times'
    # with a core each), so the rescaled samples, and the stall, differ by that ratio's
    # distance from the means' ratio: a few tenths of a percent for these gamma draws.
    t = trace.table.sort_values(["worker", "t_read"])
    cpu = (t["t_grad_done"] - t["t_read"]).to_numpy()
    shared = calibrate_profile(trace, cores=1, gradient_cpu=cpu)
    assert shared.stall == pytest.approx(fitted.stall, rel=0.01)
    halved = calibrate_profile(trace, cores=1, gradient_cpu=0.5 * cpu)
    assert halved.stall == pytest.approx(0.5 * shared.stall)
    assert shared.stall_window == fitted.stall_window
    # Told the threads' CPU in all (every simulated worker computes from start to end: its
    # gradients, stalls included, its reads and its publishes), no CPU is left beyond the
    # phases: the stall the simulator adds back counts among them, and the gradient phase
    # stays the one without it (counted twice, it would grow by the stall times the share
    # of gradients stalled, about 3 us of 32; 1% is the phases' rounding).
    spent = float(trace.table.groupby("worker")["t_apply"].max().sum())
    counted = calibrate_profile(trace, cores=1, gradient_cpu=cpu, worker_cpu=spent)
    assert counted.compute.mean() == pytest.approx(shared.compute.mean(), rel=0.01)
    # a slow worker is not a stall: its gradients are longer and meet more of the fast
    # worker's publishes, so the two are compared within each worker
    slow = simulate(SimConfig("leashed", 2, replace(profile, speed=(1.0, 3.0)), 20_000, seed=1)).trace
    assert calibrate_profile(slow, cores=2).stall == 0.0
    # a slow worker's stall takes its speed times as long (the simulator's, as the rest of
    # its gradient): found on the gradients rescaled to the fastest worker, it is the stall
    both = simulate(SimConfig("leashed", 2, replace(stalled, speed=(1.0, 3.0)), 20_000, seed=1)).trace
    assert calibrate_profile(both, cores=2).stall == pytest.approx(6e-6, rel=0.10)


def test_the_main_threads_cpu_is_taken_from_time_shared_workers() -> None:
    # The share of the cores' time the workers could not have: the hypervisor's steal plus
    # the main thread's CPU seconds over cores x wall (its loss curve and checks compete
    # with the workers when they outnumber the cores).
    from types import SimpleNamespace

    from real_exec import RunConfig
    from real_exec.executor.problems import make_problem
    from real_exec.executor.runner import run
    from real_exec.study.calibrate import taken_from_workers

    result = SimpleNamespace(stolen=0.1, main_cpu=1.0, wall_time=2.0)
    assert taken_from_workers(result, 2) == pytest.approx(0.1 + 1.0 / (2 * 2.0))  # type: ignore[arg-type]
    assert taken_from_workers(SimpleNamespace(stolen=0.1, main_cpu=float("nan"), wall_time=2.0), 2) == 0.1  # type: ignore[arg-type]
    assert np.isnan(taken_from_workers(SimpleNamespace(stolen=float("nan"), main_cpu=1.0, wall_time=2.0), 2))  # type: ignore[arg-type]
    # a real run measures its main thread: evaluating the curve costs it CPU time
    real = run(
        RunConfig("hogwild", 2, 0.05, seconds=0.3, seed=0, check_updates=False),
        make_problem("digits-mlp", np.random.default_rng(0)),
    )
    assert 0.0 < real.main_cpu < real.wall_time


@pytest.mark.parametrize(("cached", "retry"), [(5e-6, 1.6e-5), (None, None)])
def test_calibration_recovers_leashed_publish_attempts_by_where_they_build(
    cached: float | None, retry: float | None
) -> None:
    # A simulated Leashed-SGD run whose first attempts on the version read take `cached`,
    # those on a newer version 10 us and each later attempt `retry` (gamma, a = 25). The
    # calibration splits the rows by attempts and staleness (real_exec.study.publish_attempts);
    # a retried row's first attempt is taken at its kind's median, so the retries' mean is
    # off by the spread of that first attempt over their count, a few percent. A first
    # attempt that takes long is more likely to fail and leave its group, so each group's
    # mean is a little low (2-5% at 20,000 gradients); 10% allows for both. With one timing
    # for every attempt, the three fitted ones agree with it within the same 10%.
    def gamma(mean: float) -> Any:
        return parse_timing(f"gamma:a=25,scale={mean / 25}")

    profile = HardwareProfile(
        compute=parse_timing("gamma:a=16,scale=2.5e-6"),
        publish=gamma(1e-5),
        publish_cached=None if cached is None else gamma(cached),
        publish_retry=None if retry is None else gamma(retry),
        cores=2,
    )
    trace = simulate(SimConfig("leashed", 2, profile, 20_000, seed=1)).trace
    fitted = calibrate_profile(trace, cores=2)
    assert fitted.publish.mean() == pytest.approx(1e-5, rel=0.10)
    assert fitted.publish_cached.mean() == pytest.approx(cached or 1e-5, rel=0.10)
    assert fitted.publish_retry.mean() == pytest.approx(retry or 1e-5, rel=0.10)
    # more threads than cores, without the gradients' CPU times: not modelled
    assert calibrate_profile(trace, cores=1).publish_cached is None


def test_time_shared_calibration_recovers_the_publish_attempts_of_unpreempted_rows() -> None:
    # Three Leashed-SGD workers time-sharing two cores in 3 ms slices (gradients 40 us,
    # attempts 5-16 us). An attempt that loses its core fails (the others publish while it
    # waits), so the preemptions land in the retried rows. The calibration leaves out the
    # attempts that a preemption lengthened, as it does for every short phase on time-shared
    # cores, so each kind's mean is its drawn one within the 10% of the test above; kept
    # in, the retries' mean would be 2.7 times the drawn one (43-45 us with seeds 1 and 2).
    def gamma(mean: float) -> Any:
        return parse_timing(f"gamma:a=25,scale={mean / 25}")

    profile = HardwareProfile(
        compute=parse_timing("gamma:a=16,scale=2.5e-6"),
        publish=gamma(1e-5),
        publish_cached=gamma(5e-6),
        publish_retry=gamma(1.6e-5),
        cores=2,
        quantum=3e-3,
    )
    trace = simulate(SimConfig("leashed", 3, profile, 30_000, seed=1)).trace
    t = trace.table.sort_values(["worker", "t_read"])
    cpu = (t["t_grad_done"] - t["t_read"]).to_numpy()  # given, as a run records them: time-shared
    fitted = calibrate_profile(trace, cores=2, gradient_cpu=cpu)
    assert fitted.publish.mean() == pytest.approx(1e-5, rel=0.10)
    assert fitted.publish_cached.mean() == pytest.approx(5e-6, rel=0.10)
    assert fitted.publish_retry.mean() == pytest.approx(1.6e-5, rel=0.10)
