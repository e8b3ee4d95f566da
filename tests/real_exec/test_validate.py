"""Validation of the simulator against real runs: the comparison, and where the model is known not to fit."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from scipy import stats

from real_exec.executor.machine import usable_cores
from real_exec.study.calibrate import _gaps, stall
from real_exec.study.meetings import paired_gradients
from real_exec.study.validate import validate
from staleness_sim import SimConfig, simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import EmpiricalTiming, parse_timing
from tests.paired_trace import paired_publishes
from theory.analysis import rate_swings, throughput
from theory.compare import compare_traces
from theory.trace import Trace


@pytest.mark.parametrize("algo", ["lock", "hogwild", "leashed", "sync"])
def test_validate_runs_calibrates_and_compares(algo: str) -> None:
    # How close the simulation comes is a property of the machine and its load, measured by
    # benchmarks/validation_table.py (see docs/validation.md); here: the pipeline is sound.
    v = validate(algo, 2, "digits-mlp", seconds=0.5, seed=0)
    s = v.summary()
    assert 0.0 <= s["tv"] <= 1.0 and s["w1"] >= 0.0 and s["throughput_ratio"] > 0
    assert len(v.sim.trace) == len(v.real.trace)
    assert s["profile"]["cores"] is not None and s["profile"]["compute"].startswith("empirical:")
    if algo == "sync":
        assert s["tv"] == 0.0  # both have staleness 0 only
    # The worker loops are compiled and hold no interpreter lock: the profile models none.
    assert v.real.trace.meta["worker_loop"] == "compiled"
    assert (v.profile.gil, v.profile.gil_handoff, v.profile.interpreted) == (False, 0.0, 0.0)
    # The main thread evaluated the loss only before and after the run (the simulator has no
    # main thread to take a core from the workers)
    assert len(v.real.curve) == 2
    timeshared = usable_cores() < 2
    # The summary reports the two Traces' own numbers ...
    real, sim = v.real.trace, v.sim.trace
    assert s["throughput"]["real"] == throughput(real) and s["throughput"]["sim"] == throughput(sim)
    assert s["throughput_ratio"] == pytest.approx(throughput(sim) / throughput(real), rel=1e-12)
    assert s["tau_mean"]["real"] == pytest.approx(real.staleness().mean(), rel=1e-12)
    assert s["tau_mean"]["sim"] == pytest.approx(sim.staleness().mean(), rel=1e-12)
    assert s["rate_swings"] == {"real": rate_swings(real), "sim": rate_swings(sim)}
    # TV and W1 of the two staleness samples, computed here from their definitions: TV is half
    # the L1 distance of the empirical pmfs, W1 the area between the empirical CDFs (scipy).
    a, b = real.staleness(), sim.staleness()
    top = int(max(a.max(), b.max())) + 1
    pa, pb = np.bincount(a, minlength=top) / a.size, np.bincount(b, minlength=top) / b.size
    assert s["tv"] == pytest.approx(0.5 * np.abs(pa - pb).sum(), abs=1e-12)
    assert s["w1"] == pytest.approx(stats.wasserstein_distance(a, b), abs=1e-12)
    # ... the simulation ran the real run's configuration ...
    assert (sim.meta["algorithm"], sim.meta["workers"]) == (algo, 2)
    # ... on a profile whose gradient time is the measured one: each worker's speed factor is
    # its mean gradient time over the fastest worker's, and the samples are rescaled to the
    # fastest worker, so the profile's mean is that worker's mean and speed x mean is each
    # worker's. With fewer cores than threads the thread CPU times are used instead (the
    # simulator time-shares). Lock-based runs add the loop's overhead outside the lock: the
    # median gap between a worker's publish and its next read, above the gap's lower decile.
    # (Time-sharing runs take thread CPU times plus the CPU beyond the phases, tested above.)
    phase = (real.table["t_grad_done"] - real.table["t_read"]).groupby(real.table["worker"]).mean()
    overhead = 0.0
    if algo == "lock":
        gaps = _gaps(real.table)
        overhead = np.median(gaps) - np.quantile(gaps, 0.1)
    expected = phase.min() + overhead
    if algo == "leashed" and v.profile.stall > 0:
        # Leashed-SGD's gradients that stalled near another's publish lose the stall (the
        # simulator adds it back where it happens, times the worker's speed): the stall is
        # found on the samples rescaled to the fastest worker, and leaves them
        table = real.table
        publish = float(
            ((table["t_apply"] - table["t_grad_done"]) / table["attempts"].clip(lower=1)).median()
        )
        raw = (table["t_grad_done"] - table["t_read"]).to_numpy()
        factor = (phase / phase.min()).reindex(table["worker"]).to_numpy()
        found = stall(table, publish, raw / factor)
        assert found is not None and found[:2] == (v.profile.stall, v.profile.stall_window)
        expected = float(np.maximum(raw / factor - found[0] * found[2], 0.5 * raw / factor).mean())
    if algo == "hogwild" and v.profile.paired_window > 0:
        # HOGWILD!'s gradients paired with another worker's begun just before lose their samples
        # (the simulator pairs them again): the rescaled samples of the others
        table = real.table
        raw = (table["t_grad_done"] - table["t_read"]).to_numpy()
        rescaled = raw / (phase / phase.min()).reindex(table["worker"]).to_numpy()
        _, _, paired = paired_gradients(table, rescaled)
        assert 0 < paired.sum() < paired.size
        expected = float(rescaled[~paired].mean())
    if not timeshared:
        assert v.profile.compute.mean() == pytest.approx(expected, rel=1e-9)
        assert v.profile.speed == pytest.approx(tuple(phase / phase.min()), rel=1e-9)


def test_empirical_timing_validation() -> None:
    with pytest.raises(ValueError, match="empirical"):
        EmpiricalTiming(np.array([]))
    with pytest.raises(ValueError, match="empirical"):
        EmpiricalTiming(np.array([1.0, -1.0]))


def test_validate_tells_its_progress() -> None:
    said: list[str] = []
    validate("hogwild", 1, "quadratic", seconds=0.05, progress=said.append)
    assert said[0] == "real run: hogwild, 1 threads, 0.05 s" and said[1].startswith("calibrating on its ")


def _paired(algo: str) -> Trace:
    """The convoy of tests/paired_trace.py, one failed CAS attempt per gradient."""
    return paired_publishes(attempts=2, algo=algo)


def test_validate_says_when_the_model_is_known_not_to_fit() -> None:
    from types import SimpleNamespace

    from real_exec.study.validate import Validation

    profile = HardwareProfile(compute=parse_timing("gamma:a=4,scale=0.25"), publish=parse_timing("const:0.1"))
    free = simulate(SimConfig("hogwild", 2, profile, 2000, seed=1)).trace  # independent workers

    def regimes(
        real: Trace,
        sim: Trace,
        window: float = 1.0,
        cores: int | None = None,
        main: float = 0.0,
        speed: tuple[float, ...] = (1.0,),
    ) -> dict[str, str]:
        calibrated = replace(profile, cas_window=window, cores=cores, speed=speed)
        real_run = SimpleNamespace(trace=real, main_cpu=main, wall_time=10.0)
        sim_run = SimpleNamespace(trace=sim)
        v = Validation(real_run, sim_run, calibrated, compare_traces(real, sim))  # type: ignore[arg-type]
        assert v.notes() == list(v.regimes().values())
        return v.regimes()

    def notes(real: Trace, sim: Trace, **kwargs: Any) -> list[str]:
        return list(regimes(real, sim, **kwargs).values())

    (coupled,) = notes(_paired("hogwild"), free)
    assert "fall together" in coupled and "0.55x" in coupled  # 0.5 / (0.9 * 50 / 49.92) = 0.555
    assert "the simulated 1.00x" in coupled
    assert notes(free, free) == []  # the simulator's own workers fit it
    # Leashed-SGD: every real gradient failed one CAS attempt (rate 1.0), the simulation none
    leashed = simulate(SimConfig("leashed", 2, profile, 2000, seed=1)).trace
    (exposed,) = notes(_paired("leashed"), leashed)
    assert "CAS attempts fail 100.0%" in exposed
    assert list(regimes(_paired("leashed"), leashed)) == ["cas"]
    assert notes(_paired("leashed"), free, window=0.5) == []  # the window could still grow
    assert notes(_paired("lock"), free) == []  # a lock couples workers by design
    # The main thread busy 0.5 s of the run's 10: with 2 workers on 2 cores, a note; on 3
    # cores (one to spare), or busy 0.4 s, none
    (busy,) = notes(_paired("lock"), free, cores=2, main=0.5)
    assert "main thread was busy 5% of the run" in busy and "2 workers had no core to spare" in busy
    assert notes(_paired("lock"), free, cores=3, main=0.5) == []
    assert notes(_paired("lock"), free, cores=2, main=0.4) == []
    assert list(regimes(_paired("hogwild"), free, cores=2, main=0.5)) == ["coupling", "main"]
    # Workers of different speeds (1 and 4) on fewer cores than threads: the fixed placement
    (placed,) = notes(_paired("lock"), free, cores=1, speed=(1.0, 4.0))
    assert "2 workers of different speeds on 1 cores" in placed
    assert list(regimes(_paired("lock"), free, cores=1, speed=(1.0, 4.0))) == ["placement"]
    assert notes(_paired("lock"), free, cores=2, speed=(1.0, 4.0)) == []  # a core each
    assert notes(_paired("lock"), free, cores=1, speed=(1.0, 1.2)) == []  # about equal
    lock = _paired("lock")
    # More workers than cores, and the real updates delayed on average DELAYED times the
    # simulated ones or more (here 1.00 against 0.50): the long delays; not with a core
    # each, nor where the simulated ones are the longer
    free_lock = Trace(free.table, {**free.meta, "algorithm": "lock"})
    (delayed,) = notes(free_lock, lock, cores=1)
    assert "delayed 1.00 updates on average, the simulated 0.50: with 2 workers on 1 cores" in delayed
    assert list(regimes(free_lock, lock, cores=1)) == ["delays"]
    assert notes(free_lock, lock, cores=2) == [] and notes(lock, free_lock, cores=1) == []

    # Other threads of the process still running when the workers started (the wait ran
    # out): a note; none where the start was quiet or not known
    def started(busy: float) -> Trace:
        return Trace(lock.table, {**lock.meta, "start_busy": busy, "start_wait": 0.5})

    (crowded,) = notes(started(0.8), free)
    assert "still running when the workers started (0.8 on average, after a wait of 0.50 s)" in crowded
    assert list(regimes(started(0.8), free)) == ["start"]
    assert notes(started(0.0), free) == [] and notes(started(float("nan")), free) == []
