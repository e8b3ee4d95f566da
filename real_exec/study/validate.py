"""Validation: calibrate the simulator on a real run, simulate the same configuration, compare.

The pipeline is ``run -> calibrate_run -> simulate -> compare_traces``: :func:`validate`
runs all of it, :func:`validate_run` starts from a real run already made (``asgd demo`` uses
it on each of its runs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from real_exec.executor.config import RunConfig
from real_exec.executor.problems import Problem, make_problem
from real_exec.executor.quiet_start import BUSY
from real_exec.executor.runner import RunResult, run
from real_exec.study.calibrate import COUPLED, calibrate_run
from staleness_sim.config import SimConfig
from staleness_sim.engines import simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.result import SimResult
from theory.analysis import coupling, rate_swings
from theory.compare import Comparison, compare_traces
from theory.trace import Trace

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Validation", "fixed_placement", "plot_comparison", "validate", "validate_run"]


#: How many times the simulated CAS failure rate the real one may be, with the calibrated
#: CAS window at its limit, before the model is said not to fit.
CAS_EXPOSED = 1.5


@dataclass(frozen=True, eq=False)
class Validation:
    """A real run, the profile calibrated on it, its simulation, and how the two compare."""

    real: RunResult
    sim: SimResult
    profile: HardwareProfile
    comparison: Comparison

    def summary(self) -> dict[str, Any]:
        c = self.comparison
        regimes = self.regimes()
        return {
            "algo": self.real.trace.meta["algorithm"],
            "threads": self.real.trace.meta["workers"],
            "tv": c.tv,
            "w1": c.w1,
            "g_test_p_value": c.p_value,
            "throughput_ratio": c.throughput_ratio,
            "throughput": {"real": c.throughput_a, "sim": c.throughput_b},
            "tau_mean": {"real": c.tau_mean["a"], "sim": c.tau_mean["b"]},
            "cas_failure_rate": {"real": c.cas_failure_rate["a"], "sim": c.cas_failure_rate["b"]},
            "dropped": {"real": c.dropped["a"], "sim": c.dropped["b"]},
            # dropped gradients (Leashed-SGD's persistence, Rennala's older versions) per gradient
            "dropped_share": {
                "real": c.dropped["a"] / max(1, len(self.real.trace)),
                "sim": c.dropped["b"] / max(1, len(self.sim.trace)),
            },
            "peak_live_vectors": {"real": self.real.peak_live_vectors, "sim": self.sim.peak_live_vectors},
            # the share of the cores' time that the hypervisor took during the real run
            "stolen": self.real.stolen if np.isfinite(self.real.stolen) else None,
            "profile": self.profile.to_dict(),
            # the real workers' slowdown factors and the calibrated profile's (tau_i / tau_1)
            "speeds": {
                "given": self.real.trace.meta.get("speeds"),
                "recovered": list(self.profile.speeds(int(self.real.trace.meta["workers"]))),
            },
            # measured staleness over independent workers' (theory.analysis.coupling)
            "coupling": dict(zip(("real", "sim"), self.couplings, strict=True)),
            # the share of windows in which a worker ran at 1.5x its mean rate or more
            # (theory.analysis.rate_swings): a thread given a core to itself for a while, which
            # the simulated workers, keeping their cores, never are (docs/validation.md)
            "rate_swings": dict(zip(("real", "sim"), self.swings, strict=True)),
            "notes": list(regimes.values()),
            # the same, by name (the keys of :meth:`regimes`), for tables of many runs
            "regimes": list(regimes),
        }

    @cached_property
    def couplings(self) -> tuple[float | None, float | None]:
        """:func:`theory.analysis.coupling` of the real and the simulated Trace."""
        return coupling(self.real.trace), coupling(self.sim.trace)

    @cached_property
    def swings(self) -> tuple[float | None, float | None]:
        """:func:`theory.analysis.rate_swings` of the real and the simulated Trace."""
        return rate_swings(self.real.trace), rate_swings(self.sim.trace)

    def notes(self) -> list[str]:
        """What :meth:`regimes` says, as sentences."""
        return list(self.regimes().values())

    def regimes(self) -> dict[str, str]:
        """Where this run is in a regime the model is known not to fit, measured on the run
        itself (docs/validation.md, "Across workloads"), by name:

        * ``coupling``, HOGWILD!: the real workers' coupling (:func:`theory.analysis.coupling`) and the
          simulated one differ by more than :data:`~real_exec.study.calibrate.COUPLED` (the
          calibration's convoy of publishes does not reproduce it);
        * ``cas``, Leashed-SGD: the calibrated CAS window is the whole publish and the real CAS
          attempts still fail more often than the simulated ones (by :data:`CAS_EXPOSED`):
          on digits-mlp an attempt fails as often in real and simulated runs at a given
          offset from the other worker's publish, but the real workers' publishes fall near
          each other's more often; on the Fashion-MNIST MLP the real attempts begun during
          the other's publish fail more often (docs/validation.md, "What Leashed-SGD does",
          "Where a Leashed-SGD publish builds");
        * ``main``: a main thread busy :data:`MAIN_BUSY` of the run or more (the loss curve's
          evaluations) with no core to spare: the workers lost that time to it, and the
          simulator has no main thread (docs/validation.md, "The main thread's evaluations");
        * ``placement``: more threads than cores and workers whose calibrated speeds differ by
          :data:`UNEQUAL` or more: the simulated workers keep their cores (worker ``i`` on
          core ``i mod cores``), the real threads are moved between cores by Linux's load
          balancer, and with workers of different speeds which of them has a core to
          itself decides the throughput and the staleness (docs/validation.md, "Slow
          workers on time-shared cores");
        * ``delays``: more threads than cores and a real mean staleness :data:`DELAYED` times
          the simulated one or more: the real updates' long delays (a worker off its core
          while the others publish) run longer than the simulated ones (docs/validation.md,
          "The whole table with both changes");
        * ``start``: other threads of the process still running when the workers started (the run's
          ``start_busy``, :mod:`real_exec.executor.quiet_start`), which the simulator does
          not have.
        """
        algo = self.real.trace.meta["algorithm"]
        out: dict[str, str] = {}
        c, c_sim = self.couplings
        if algo == "hogwild" and c is not None and c_sim is not None and abs(c - c_sim) > COUPLED:
            how = "fall together" if c < c_sim else "avoid each other"
            out["coupling"] = (
                f"the real workers' publishes {how} more than the simulated ones: their mean staleness "
                f"is {c:.2f}x what independent workers with the same rates and read-to-publish windows "
                f"would see, the simulated {c_sim:.2f}x"
            )
        real, sim = self.comparison.cas_failure_rate["a"], self.comparison.cas_failure_rate["b"]
        exposed = self.profile.cas_window >= 0.999 and real > max(CAS_EXPOSED * sim, 0.01)
        if algo == "leashed" and exposed:
            out["cas"] = (
                f"the real CAS attempts fail {real:.1%} of the time; with the whole publish exposed to "
                f"other publishes the model fails {sim:.1%}: the real workers' publishes meet more often, "
                "or fail more often when they meet, than the simulated ones (benchmarks/publish_phase.py "
                "says which)"
            )
        threads, cores = int(self.real.trace.meta["workers"]), self.profile.cores
        busy = self.real.main_cpu / self.real.wall_time if self.real.wall_time > 0 else 0.0
        if cores is not None and threads >= cores and busy >= MAIN_BUSY:
            out["main"] = (
                f"the main thread was busy {busy:.0%} of the run (the loss curve's evaluations) and "
                f"the {threads} workers had no core to spare: they lost that time, and the simulator "
                "has no main thread (asgd validate's own runs evaluate only before and after)"
            )
        placement = fixed_placement(threads, cores, self.profile.speed)
        if placement is not None:
            out["placement"] = placement
        real_tau, sim_tau = self.comparison.tau_mean["a"], self.comparison.tau_mean["b"]
        if cores is not None and threads > cores and sim_tau > 0 and real_tau >= DELAYED * sim_tau:
            out["delays"] = (
                f"the real updates were delayed {real_tau:.2f} updates on average, the simulated "
                f"{sim_tau:.2f}: with {threads} workers on {cores} cores the real long delays (a worker "
                "off its core while the others publish) run longer than the simulated ones"
            )
        running = float(self.real.trace.meta.get("start_busy", 0.0))
        if running >= BUSY:  # NaN (not known) is not
            waited = float(self.real.trace.meta.get("start_wait", 0.0))
            out["start"] = (
                f"other threads of this process were still running when the workers started "
                f"({running:.1f} on average, after a wait of {waited:.2f} s): the real workers "
                "shared the cores with them at first, the simulated ones did not"
            )
        return out


def fixed_placement(threads: int, cores: int | None, speeds: Sequence[float]) -> str | None:
    """What the simulator's fixed placement of workers on cores misses, for ``threads``
    workers of ``speeds`` (cycled) on fewer ``cores``: their speeds differ by
    :data:`UNEQUAL` or more; ``None`` otherwise (see :meth:`Validation.notes`)."""
    if cores is None or threads <= cores or max(speeds) < UNEQUAL * min(speeds):
        return None
    return (
        f"{threads} workers of different speeds on {cores} cores: the simulated workers keep "
        f"their cores (worker i on core i mod {cores}), while Linux moves the real threads "
        "between cores several times a second, so a different worker has a core to itself; "
        "with slow workers that changes the throughput and the staleness"
    )


#: The main thread's share of a run's wall-clock time, busy while the workers ran, from which
#: :meth:`Validation.notes` says so where no core was spare (docs/validation.md: LeNet at 4
#: threads on 2 cores, evaluating its curve, against the same runs evaluating nothing).
MAIN_BUSY = 0.05

#: How many times the simulated mean staleness the real one may be, with more threads than
#: cores, before :meth:`Validation.regimes` says that the real long delays run longer: well
#: above the simulator's own spread of the mean over seeds (docs/validation.md, "The whole
#: table with both changes").
DELAYED = 1.15

#: The ratio of the slowest worker's calibrated speed factor to the fastest one's from which
#: :meth:`Validation.notes` says, for more threads than cores, that the simulated placement
#: of workers on cores is fixed: well above the factors that workers of equal speeds
#: calibrate to (docs/validation.md, "Slow workers on time-shared cores").
UNEQUAL = 1.5


def validate(
    algo: str,
    threads: int,
    problem: str | Problem,
    seconds: float = 5.0,
    seed: int = 0,
    eta: float = 0.05,
    persistence: int | None = None,
    cores: int | None = None,
    progress: Callable[[str], None] | None = None,
    speeds: tuple[float, ...] = (1.0,),
    slow_mode: str = "spin",
    threshold: int | None = None,
) -> Validation:
    """Run ``algo`` for real on ``problem`` (a name of :data:`real_exec.executor.problems.PROBLEMS` or a
    :class:`~real_exec.executor.problems.Problem`), calibrate a profile on its Trace, simulate, compare.
    ``speeds`` slow the real workers down (:class:`~real_exec.executor.config.RunConfig`); the
    calibration is not told them and must find them in the Trace (the profile's ``speed``).
    ``threshold``: Ringmaster ASGD's ``R`` (lock-based SGD's gradients of delay ``>= R``
    thrown away, the ``ringmaster`` rule). ``progress``, if given, is told each step as it starts."""
    say = progress or (lambda text: None)
    prob = make_problem(problem, np.random.default_rng(seed)) if isinstance(problem, str) else problem
    config = RunConfig(
        algo,
        threads,
        eta,
        seconds=seconds,
        seed=seed,
        persistence=persistence,
        check_updates=False,
        sample_every=math.inf,  # no evaluations while the workers run: the simulator has no main thread
        speeds=speeds,
        slow_mode=slow_mode,
        rule="constant" if threshold is None else "ringmaster",
        threshold=threshold,
    )
    slowed = f", workers slowed x{','.join(f'{v:g}' for v in speeds)}" if max(speeds) > 1.0 else ""
    say(f"real run: {algo}, {threads} threads, {seconds:g} s{slowed}")
    real = run(config, prob)
    say(f"calibrating on its {len(real.trace):,} gradients and simulating them")
    return validate_run(real, cores=cores, seed=seed)


def validate_run(real: RunResult, cores: int | None = None, seed: int = 0) -> Validation:
    """Calibrate a profile on ``real``'s Trace (``cores`` default: this machine's), simulate
    the same algorithm, threads and number of gradients with it, and compare the Traces."""
    meta = real.trace.meta
    profile = calibrate_run(real, cores)
    config = SimConfig(
        meta["algorithm"],
        int(meta["workers"]),
        profile,
        max(len(real.trace), 10),
        seed=seed,
        persistence=meta.get("persistence"),
        step_batch=meta.get("step_batch"),
        threshold=meta.get("threshold"),
    )
    sim = simulate(config)
    return Validation(real, sim, profile, compare_traces(real.trace, sim.trace))


def plot_comparison(ax: Axes, real: Trace, sim: Trace, title: str) -> Axes:
    """Staleness pmfs of a real and a simulated run side by side."""
    a, b = real.staleness(), sim.staleness()
    both = np.concatenate([a, b])
    top = int(np.quantile(both, 0.999)) if both.size else 0  # rare long delays would hide the bars
    k = np.arange(top + 1)
    ax.bar(k - 0.2, np.bincount(a, minlength=top + 1)[: top + 1] / max(1, a.size), width=0.4, label="real")
    ax.bar(
        k + 0.2, np.bincount(b, minlength=top + 1)[: top + 1] / max(1, b.size), width=0.4, label="simulated"
    )
    ax.set(xlabel="staleness tau", ylabel="probability", title=title, xlim=(-0.7, top + 0.7))
    ax.legend()
    return ax
