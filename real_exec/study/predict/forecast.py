"""Forecast time to target: calibrate timing here, simulate the schedule, replay the training.

1. Timing: a hardware profile calibrated from a short real run here (as ``asgd validate``
   does), optionally on a hypothetical machine: its cores, sockets, NUMA penalty, lock and
   CAS costs and per-worker speed factors taken from a shipped or user profile.
2. Schedule: the execution simulated with ``threads`` workers (:mod:`staleness_sim`): a short
   one first and, if the replay ran out of it before the target and the budget, one that
   covers the budget.
3. Replay: the model's SGD run in that schedule (:func:`real_exec.study.predict.replay.replay`),
   with the step-size rule fixed from the schedule's own warm-up as in real runs, stopped at
   the target or the budget.
4. Repeated over ``reps`` seeds (schedules and minibatch orders), summarized with censoring
   (:mod:`theory.survival`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from real_exec.executor.config import RunConfig, check_speeds
from real_exec.executor.machine import usable_cores
from real_exec.executor.monitor import Target, curve_columns
from real_exec.executor.problems import Problem
from real_exec.executor.runner import RunResult, run
from real_exec.study.calibrate import calibrate_run, main_thread_share
from real_exec.study.contention import measure_contention, measure_publish_contention, relative_to
from real_exec.study.lock_wakeup import measure_lock_handoff
from real_exec.study.predict.lost_updates import measure_lost_updates
from real_exec.study.predict.replay import replay
from staleness_sim.config import SimConfig
from staleness_sim.engines import simulate
from staleness_sim.mechanisms import MUTEX_ALGORITHMS
from staleness_sim.profile import HardwareProfile
from theory.staleness import Empirical
from theory.survival import outcome_summary

__all__ = [
    "Outcomes",
    "Trial",
    "calibrate_here",
    "check_interval",
    "forecast",
    "gradient_seconds",
    "main_thread_factor",
    "measure",
    "on_machine",
    "replays",
    "with_speeds",
]

T = TypeVar("T")

#: Profile fields that describe the machine rather than the model's timing.
MACHINE_FIELDS = (
    "cores",
    "sockets",
    "numa_penalty",
    "lock_handoff",
    "cas_latency",
    "speed",
    "contention",
    "publish_contention",
    "quantum",
    "slices",
    "convoy",  # how this machine's HOGWILD! publishes meet: unknown on another one (0)
    "convoy_reversed",
    "paired_window",  # how its HOGWILD! gradients begun together end: unknown on another one
    "paired_ratio",
    "stall",  # how this machine's Leashed-SGD gradients meet publishes: unknown on another one
    "stall_window",
)


#: Algorithms whose workers compute their gradients on the vector the others write: the
#: contention probe shares one vector among its threads for them, and their writes' cost
#: is in that factor (the others' is in the publish probe's).
SHARED_VECTOR_GRADIENTS = frozenset({"hogwild"})


@dataclass(frozen=True)
class Trial:
    """What a forecast predicts and a measurement measures: ``algo`` with ``threads`` workers
    at step ``eta`` under ``rule``, each of ``reps`` repetitions (seeds drawn from ``seed``)
    run to ``target`` or ``budget`` seconds, the target checked every ``check_every`` seconds
    (default ``budget / 50``, :func:`check_interval`). ``speeds`` are the workers' slowdown
    factors (cycled over the threads, ``slow_mode`` as in
    :class:`~real_exec.executor.config.RunConfig`): a forecast gives them to the simulated
    schedule only (:func:`with_speeds`), a measurement to the real threads."""

    algo: str
    threads: int
    eta: float
    target: Target
    budget: float
    rule: str = "constant"
    reps: int = 5
    seed: int = 0
    check_every: float | None = None
    speeds: tuple[float, ...] = (1.0,)
    slow_mode: str = "spin"
    step_batch: int | None = None  # Rennala SGD's S (default: the threads)

    def __post_init__(self) -> None:
        object.__setattr__(self, "speeds", check_speeds(self.speeds))

    @property
    def checks(self) -> float:
        """Seconds between two checks of the target."""
        return check_interval(self.check_every, self.budget)


@dataclass(frozen=True)
class Outcomes:
    """A trial's repetitions, predicted or measured: per repetition whether and when the target
    was reached (``time_to_target``: schedule time for a forecast, with the replay's own wall
    time in ``replay_seconds``), their Kaplan-Meier summary
    (:func:`theory.survival.outcome_summary`), each repetition's loss curve, and the profile
    a forecast simulated (``None`` for a measurement)."""

    per_rep: list[dict[str, Any]]
    budget: float
    summary: dict[str, float] = field(default_factory=dict)
    curves: list[dict[str, list[float]]] = field(default_factory=list)  # per rep: time, loss, ...
    profile: HardwareProfile | None = None

    @classmethod
    def of(
        cls, per_rep: list[dict[str, Any]], budget: float, curves: Any = (), profile: Any = None
    ) -> Outcomes:
        """Outcomes with their summary computed."""
        return cls(per_rep, budget, outcome_summary(per_rep, budget), list(curves), profile)


def calibrate_here(
    problem: Problem,
    algo: str,
    threads: int,
    *,
    eta: float,
    seconds: float,
    machine: HardwareProfile | None = None,
    predict_threads: int | None = None,
    contention_seconds: float = 1.0,
    check_every: float | None = None,
    lost_update_seconds: float | None = None,
) -> HardwareProfile:
    """A profile calibrated on a real run of ``seconds`` here; with ``machine``, its machine
    fields (:data:`MACHINE_FIELDS`) replace this machine's. Here, for ``predict_threads``
    other than ``threads``, what the calibration's threads could not contain is measured and
    set relative to the calibration's threads (probes of ``contention_seconds`` each; 0 skips
    them):

    * the gradient's contention between busy cores
      (:func:`~real_exec.study.contention.measure_contention`; on one shared vector for
      :data:`SHARED_VECTOR_GRADIENTS`);
    * for the other algorithms, the publish's, whose writes meet the other cores' on the one
      vector (:func:`~real_exec.study.contention.measure_publish_contention`);
    * where the calibration left a core idle and the prediction occupies every core, the main
      thread's evaluations (:func:`main_thread_factor`);
    * for :data:`~staleness_sim.mechanisms.MUTEX_ALGORITHMS` whose calibration run never
      waited for the lock (one thread), the mutex's hand-off, timed directly
      (:func:`~real_exec.study.lock_wakeup.measure_lock_handoff`, with the lock held as
      long as a calibrated publish).

    The calibration run evaluates its loss curve every ``check_every`` seconds (default: ten
    points over the run) while it runs (``live_curve``), as the runs predicted check their
    target: the main thread's evaluations take a core from the workers when they occupy
    every core, and the simulator has no main thread, so the calibrated phases must contain
    as many of them as the runs predicted do.

    For HOGWILD!, a probe of ``lost_update_seconds`` (default ``seconds``; 0 skips it) measures
    the updates its writes lose when they meet (``lost_on_overlap``,
    :func:`~real_exec.study.predict.lost_updates.measure_lost_updates`), with the larger of
    ``threads`` and ``predict_threads``, at most one per core here (a single thread loses
    nothing)."""
    config = RunConfig(algo, threads, eta, seconds=seconds, check_updates=False, sample_every=check_every)
    real = run(config, problem, live_curve=True)
    profile = calibrate_run(real)
    cores = usable_cores()
    probe_threads = min(max(threads, predict_threads or threads), cores)
    probe_seconds = seconds if lost_update_seconds is None else lost_update_seconds
    if algo == "hogwild" and probe_seconds > 0 and probe_threads > 1:
        lost = measure_lost_updates(problem, probe_threads, probe_seconds, eta)
        profile = replace(profile, lost_on_overlap=lost.per_overlap)
    if machine is not None:
        return on_machine(profile, machine)
    if predict_threads is None or predict_threads == threads:
        return profile
    contention: tuple[float, ...] = (1.0,)
    if contention_seconds > 0:
        most, shared = max(threads, predict_threads), algo in SHARED_VECTOR_GRADIENTS
        contention = relative_to(
            measure_contention(problem, most, contention_seconds, shared=shared), threads
        )
        if not shared:
            publish = measure_publish_contention(problem, most, contention_seconds)
            profile = replace(profile, publish_contention=relative_to(publish, threads))
        if algo in MUTEX_ALGORITHMS and profile.lock_handoff == 0 and min(predict_threads, cores) > 1:
            handoff = measure_lock_handoff(float(profile.publish.mean()))
            profile = replace(profile, lock_handoff=handoff)
    if threads < cores <= predict_threads:
        contention = _times_entry(contention, cores, main_thread_factor(real, cores))
    return replace(profile, contention=contention)


def main_thread_factor(real: RunResult, cores: int) -> float:
    """The gradient-time factor that the main thread of ``real`` (its evaluations and checks)
    puts on workers that occupy all ``cores``: its CPU seconds ``c`` over the run's ``w``
    seconds are taken from the cores' ``cores * w``::

        1 / (1 - c / (cores * w))

    1 when nothing was measured (:func:`~real_exec.study.calibrate.main_thread_share`). (A
    calibration that leaves a core idle gives the main thread that core; one that occupies
    every core contains the factor already.)"""
    return 1.0 / (1.0 - min(main_thread_share(real, cores), 0.9))


def _times_entry(factors: tuple[float, ...], k: int, by: float) -> tuple[float, ...]:
    """``factors`` (entry ``j - 1`` for ``j`` busy cores, the last one beyond the list) with the
    entry of ``k`` busy cores, and those beyond it, multiplied by ``by``."""
    full = tuple(factors) + (factors[-1],) * max(0, k - len(factors))
    return full[: k - 1] + tuple(f * by for f in full[k - 1 :])


def check_interval(check_every: float | None, budget: float) -> float:
    """Seconds between two checks of the target: ``check_every``, or else ``budget / 50``;
    ``ValueError`` if ``check_every`` exceeds the budget (the target would never be checked
    before the end)."""
    if check_every is not None and check_every > budget:
        raise ValueError(
            f"check_every {check_every:g} s is longer than the budget of {budget:g} s: the target "
            "would be checked only at the end"
        )
    return check_every if check_every is not None else budget / 50


def on_machine(profile: HardwareProfile, machine: HardwareProfile) -> HardwareProfile:
    """``profile``'s timing on ``machine``: its :data:`MACHINE_FIELDS` replace the profile's."""
    return profile.with_overrides(**{k: getattr(machine, k) for k in MACHINE_FIELDS})


def with_speeds(profile: HardwareProfile, speeds: tuple[float, ...]) -> HardwareProfile:
    """``profile`` with workers slowed by ``speeds`` (cycled): each factor times the mean of
    the profile's own (a calibration here measures its threads' small differences, which
    are not the ones its runs will have). Unchanged when every factor is 1."""
    if all(s == 1.0 for s in speeds):
        return profile
    base = float(np.mean(profile.speed))
    return replace(profile, speed=tuple(base * s for s in speeds))


def _gradients_for(profile: HardwareProfile, threads: int, budget: float) -> int:
    """Gradients whose schedule outlasts ``budget`` with a margin (all workers busy)."""
    busy = min(threads, profile.cores or threads)
    seconds = gradient_seconds(profile, threads)
    return max(100, math.ceil(1.5 * budget * busy / max(seconds, 1e-9)) + 10 * threads)


def gradient_seconds(profile: HardwareProfile, workers: int = 1) -> float:
    """Mean seconds of one worker's cycle without waiting, with ``workers`` workers: read,
    compute and publish (times the profile's contention factors)."""
    compute = float(profile.compute.mean()) * profile.contention_factor(workers)
    publish = float(profile.publish.mean()) * profile.publish_contention_factor(workers)
    return compute + float(profile.read.mean()) + publish


def _outcome(rep: int, seed: int, reached: tuple[float, int] | None, diverged: bool) -> dict[str, Any]:
    """One repetition's row: whether, when and after how many updates the target was reached."""
    return {
        "rep": rep,
        "seed": seed,
        "reached": reached is not None,
        "diverged": diverged,
        "time_to_target": reached[0] if reached else float("nan"),
        "updates_to_target": reached[1] if reached else None,
    }


def forecast(
    problem: Problem,
    trial: Trial,
    profile: HardwareProfile,
    progress: Callable[[str], None] | None = None,
    jobs: int | None = None,
) -> Outcomes:
    """Replay ``trial.reps`` simulated schedules of ``trial`` on ``profile`` (``progress`` is
    told each repetition as it starts), ``jobs`` at a time (default: one per core) in threads
    with one BLAS thread each (:func:`replays`)."""
    profile = with_speeds(profile, trial.speeds)
    seeds = [int(seq.generate_state(1)[0]) for seq in np.random.SeedSequence(trial.seed).spawn(trial.reps)]

    def one(rep: int) -> tuple[dict[str, Any], dict[str, list[float]]]:
        if progress is not None:
            progress(f"forecast, repetition {rep + 1} of {trial.reps}")
        return _forecast_once(problem, trial, profile, rep, seeds[rep])

    done = replays(one, range(trial.reps), jobs)
    return Outcomes.of([d[0] for d in done], trial.budget, [d[1] for d in done], profile)


def replays(fn: Callable[[Any], T], items: Iterable[Any], jobs: int | None = None) -> list[T]:
    """``[fn(item) for item in items]``, ``jobs`` at a time (default: one per core) in
    threads: replays spend their time in the model's kernels, which release the interpreter
    lock. BLAS is held to one thread meanwhile, so the parallelism is ours and each replay's
    arithmetic is the same whatever ``jobs`` is (a multithreaded BLAS sums in an order that
    varies from call to call)."""
    items, workers = list(items), jobs or usable_cores()
    with threadpool_limits(1):
        if workers == 1 or len(items) < 2:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fn, items))


def _forecast_once(
    problem: Problem, trial: Trial, profile: HardwareProfile, rep: int, rep_seed: int
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """One repetition of :func:`forecast`: its outcome row and its loss curve."""
    algo, threads, budget = trial.algo, trial.threads, trial.budget
    needed = _gradients_for(profile, threads, budget)
    config = RunConfig(algo, threads, trial.eta, gradients=1, rule=trial.rule)  # the warm-up and the rule
    skip, take = config.warmup_window
    gradients = min(needed, 2000 * threads + skip + take)
    while True:  # a short schedule first; the full one only if the target was not reached
        config_sim = SimConfig(
            algo,
            threads,
            profile,
            gradients,
            seed=rep_seed,
            step_batch=trial.step_batch,
            threshold=config.discard_at,
        )
        schedule = simulate(config_sim).trace
        scale = None
        if trial.rule != "constant":
            tau = schedule.staleness()
            pmf = Empirical.from_samples(tau[skip : skip + take] if tau.size > skip else tau)
            table = config.step_scale(pmf, 4096)
            scale = lambda t, table=table: float(table[min(t, table.size - 1)])  # noqa: E731
        result = replay(
            schedule,
            problem,
            trial.eta,
            scale,
            seed=rep_seed,
            target=trial.target,
            evaluate_every=trial.checks,
            until=budget,
            warmup_updates=skip + take if trial.rule != "constant" else 0,
            lost_on_overlap=profile.lost_on_overlap if algo == "hogwild" else 0.0,
        )
        covered = float(schedule.table["t_apply"].max()) >= budget
        if result.reached is not None or result.diverged or covered or gradients >= needed:
            break
        gradients = needed  # replaying ever longer prefixes would repeat the work each time
    outcome = _outcome(rep, rep_seed, result.reached, result.diverged)
    outcome |= {"replay_seconds": result.replay_seconds, "tau_mean": float(schedule.staleness().mean())}
    return outcome, curve_columns(result.curve)


def measure(problem: Problem, trial: Trial, progress: Callable[[str], None] | None = None) -> Outcomes:
    """``trial`` run for real ``trial.reps`` times here, to the target or the budget
    (``progress`` is told each repetition as it starts)."""
    per_rep, curves = [], []
    for rep, seq in enumerate(np.random.SeedSequence(trial.seed + 1).spawn(trial.reps)):
        rep_seed = int(seq.generate_state(1)[0])
        if progress is not None:
            progress(f"measuring here, repetition {rep + 1} of {trial.reps}")
        config = RunConfig(
            trial.algo,
            trial.threads,
            trial.eta,
            seconds=trial.budget,
            rule=trial.rule,
            seed=rep_seed,
            check_updates=False,
            sample_every=trial.checks,
            speeds=trial.speeds,
            slow_mode=trial.slow_mode,
            step_batch=trial.step_batch,
        )
        result = run(config, problem, target=trial.target)
        per_rep.append(_outcome(rep, rep_seed, result.reached, result.diverged))
        curves.append(curve_columns(result.curve))
    return Outcomes.of(per_rep, trial.budget, curves)
