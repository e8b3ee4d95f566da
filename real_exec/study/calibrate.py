"""Fit a hardware profile to a real run's Trace, for the simulator.

From each row: the gradient phase ``t_grad_done - t_read`` (for lock-based runs it includes
the copy made under the lock), the publish phase ``t_apply - t_grad_done`` divided by the
CAS attempts, and the gap before the worker's next read (loop overhead). Where a phase
contains waiting that the simulator models itself (the lock, the barrier), only its lower
decile is used, as a constant service time, or the samples that did not wait: lock-based
publishes that found the lock free, a synchronous round's last arrival; a synchronous run's
read, where each worker has a core, from its round's release, so that it carries the
waiters' wake-ups (:mod:`real_exec.study.rounds`). Per-worker speed
factors are the workers' mean gradient times over the fastest worker's (``tau_i / tau_1``).
Where the gradients run on a private copy (:data:`PRIVATE_GRADIENTS`), the pauses that
lengthened several workers' gradients together are taken out of the gradients' spread and
their time spread evenly over them (:mod:`real_exec.study.pauses`).

Real runs' worker loops are compiled and hold no interpreter lock, so their profiles model
none. Traces of runs whose loops were interpreted (recorded before the loops were compiled;
no ``worker_loop`` in their metadata) keep the interpreter-lock model: HOGWILD! and
Leashed-SGD (:data:`INTERPRETED_PUBLISH`) with the lock's hand-off latency measured on this
machine (:mod:`real_exec.study.interpreter_lock`), and lock-based runs with more threads than
cores, whose interpreted code outside the mutex (``interpreted``) takes turns on it.

Leashed-SGD's CAS window: :mod:`real_exec.study.cas_window`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from real_exec.executor.machine import usable_cores
from real_exec.study.cas_window import calibrated_cas_window, cas_window, fit_cas_window
from real_exec.study.interpreter_lock import (
    INTERPRETED_PUBLISH,
    gil_handoff_here,
    interpreted_loop,
    ran_alone,
)
from real_exec.study.lock_wakeup import lock_handoff, waited
from real_exec.study.meetings import CONVOY_PAIRS, convoy, paired_gradients, stall
from real_exec.study.pauses import common_pauses, without_pauses
from real_exec.study.publish_attempts import attempt_phases, per_attempt
from real_exec.study.rounds import after_release, last_arrivals
from real_exec.study.time_slice import in_table_order, lost_the_core, slices
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import Constant, EmpiricalTiming
from theory.analysis import cas_statistics, coupling
from theory.trace import Trace

if TYPE_CHECKING:
    from real_exec.executor.runner import RunResult

__all__ = [
    "calibrate_profile",
    "calibrate_run",
    "cas_window",
    "convoy",
    "fit_cas_window",
    "lock_handoff",
    "stall",
]


def _gaps(table: Any, keep: np.ndarray | None = None) -> np.ndarray:
    """Each worker's gaps between a publish and its next read; with ``keep`` (per row), only
    the gaps that start at the publish of a kept row."""
    gaps = []
    kept = table.assign(_keep=True if keep is None else keep)
    for _, own in kept.sort_values("t_read").groupby("worker"):
        t_read = own["t_read"].to_numpy()
        t_apply = own["t_apply"].to_numpy()
        gaps.append(np.clip(t_read[1:] - t_apply[:-1], 0.0, None)[own["_keep"].to_numpy()[:-1]])
    return np.concatenate(gaps) if gaps else np.zeros(1)


#: A phase sample longer than this many times the phase's median was preempted: time slices
#: are milliseconds, the phases besides the gradient microseconds.
PREEMPTED = 20.0


def _unpreempted(samples: np.ndarray) -> np.ndarray:
    """The samples of a short phase that ran without losing their core (the simulator adds
    the time-sharing itself): those within :data:`PREEMPTED` times the median."""
    keep = samples[samples <= PREEMPTED * max(float(np.median(samples)), 1e-9)]
    return keep if keep.size else samples


def _finite(samples: np.ndarray | None) -> bool:
    """Whether ``samples`` (per-gradient CPU times) were recorded: present and all finite."""
    return samples is not None and samples.size > 0 and bool(np.isfinite(samples).all())


def _unaccounted_cpu(worker_cpu: float, gradients: int, phases: float) -> float:
    """CPU seconds per gradient that the threads spent beyond the mean CPU of their modelled
    phases ``phases``: ``max(0, worker_cpu / gradients - phases)`` (0 without a finite total)."""
    if not (np.isfinite(worker_cpu) and gradients > 0):
        return 0.0
    return max(0.0, worker_cpu / gradients - phases)


def _wall_per_cpu(stolen: float | None) -> float:
    """Wall-clock seconds per CPU second on cores stolen a fraction ``stolen`` of the time:
    ``1 / (1 - stolen)``; 1 without a measurement (``None``, NaN) or outside ``[0, 1)``."""
    if stolen is None or not np.isfinite(stolen) or not 0 <= stolen < 1:
        return 1.0
    return 1.0 / (1.0 - stolen)


#: The operating system's time slice assumed when threads outnumber cores (seconds) and the
#: run did not measure it (:func:`~real_exec.study.time_slice.time_slice`: no gradients' CPU
#: times, or too few preemptions); Linux's EEVDF scheduler gives runnable CPU-bound threads
#: slices of the order of a millisecond.
DEFAULT_QUANTUM = 0.003

#: Algorithms whose gradients run on a private copy that no other worker writes: two of
#: their gradients lengthened together were lengthened from outside the run, a pause of the
#: machine (:mod:`real_exec.study.pauses`), which the calibration takes out of the gradients'
#: spread. HOGWILD!'s and Leashed-SGD's gradients also meet the other workers' writes, which
#: their own fields model (``paired_ratio``, ``stall``); synchronous SGD's rounds wait for
#: their longest gradient, and its profile keeps them as measured (docs/validation.md,
#: "Pauses common to the cores").
PRIVATE_GRADIENTS = frozenset({"lock", "rennala"})

#: Algorithms whose waiting threads keep their core: synchronous SGD's barrier yields in a
#: loop (``sched_yield``), which returns at once where nothing else waits for that core. On
#: time-shared cores their threads' CPU beyond the fitted phases is then mostly that
#: waiting, which the simulated waiters (which yield their core at once to a worker that
#: wants it, :meth:`~staleness_sim.sim_context.SimContext.spin`) do not spend, so it is not added to
#: the gradient (:func:`_with_unaccounted_cpu`; docs/validation.md, "Synchronous SGD on
#: time-shared cores").
SPINNING_WAITERS = frozenset({"sync"})


def calibrate_profile(
    trace: Trace,
    cores: int | None,
    gradient_cpu: np.ndarray | None = None,
    quantum: float = DEFAULT_QUANTUM,
    gil_handoff: float | None = None,
    worker_cpu: float | None = None,
    stolen: float | None = None,
) -> HardwareProfile:
    """A profile whose timing reproduces ``trace``'s measured phases.

    Three steps, each a function of its own: the phase samples measured in the Trace
    (:func:`_measure`), the algorithm's phase fitter (:data:`PHASE_FITTERS`), then the
    corrections for what the phases do not contain.

    When the run had more threads than ``cores``, its wall-clock phases include time spent
    preempted. The simulator models that time sharing itself (a run queue per core, a time slice
    ``quantum``: the median of the slices the run's workers got,
    :func:`~real_exec.study.time_slice.slices`, where the run measured them, else the
    ``quantum`` given; each simulated slice drawn from them, ``slices``, where every core had
    as many threads: :func:`_quantum`), so the gradient time is taken from the threads' CPU
    time (``gradient_cpu``, recorded by real runs) and the other, short phases keep only
    their samples that were not preempted (:func:`_unpreempted`). The worker
    threads also spend CPU time outside those samples (switching threads, caches refilled
    after a switch, phases that were preempted); with ``worker_cpu``, the threads' total CPU
    seconds, the difference per gradient joins the gradient phase
    (:func:`_with_unaccounted_cpu`), so that the simulated workers use as much CPU per
    gradient as the real ones (not for :data:`SPINNING_WAITERS`, whose difference is their
    waiting). CPU seconds do not contain the time the hypervisor took
    from the cores (``stolen``, the fraction measured during the run,
    :mod:`real_exec.executor.stolen_time`), wall-clock seconds do: the seconds derived from CPU
    time are divided by ``1 - stolen`` (:func:`_with_stolen_time`).

    Traces of interpreted worker loops
    (:func:`~real_exec.study.interpreter_lock.interpreted_loop`) get the interpreter-lock
    model (:func:`_interpreter_lock`): for :data:`INTERPRETED_PUBLISH` algorithms ``gil = true``
    with ``gil_handoff`` (the given value, or else measured on this machine after a wait as
    long as the run's mean publish phase), read and publish phases from the samples that began
    while every other worker computed a gradient
    (:func:`~real_exec.study.interpreter_lock.ran_alone`), and Leashed-SGD's CAS window fitted
    by simulation (:func:`~real_exec.study.cas_window.fit_cas_window`); for lock-based runs
    with more threads than cores and ``worker_cpu``, the CPU per gradient beyond the gradient
    and the phases under the mutex becomes the profile's ``interpreted`` code, run under the
    GIL, instead of joining the gradient phase.
    """
    m = _measure(trace, cores, gradient_cpu)
    lock_interpreted = (
        m.algo == "lock"
        and m.timeshared
        and interpreted_loop(trace)
        and worker_cpu is not None
        and bool(np.isfinite(worker_cpu))
    )
    fit = PHASE_FITTERS[m.algo](m, not lock_interpreted)
    if lock_interpreted:
        assert worker_cpu is not None
        fit = _interpreted_outside_mutex(fit, m, worker_cpu)
    elif m.timeshared and worker_cpu is not None and m.algo not in SPINNING_WAITERS:
        fit = _with_unaccounted_cpu(fit, m, worker_cpu)
    if m.timeshared:
        fit = _with_stolen_time(fit, stolen)
    slice_time, drawn_slices = _quantum(m, cores, gradient_cpu, quantum)
    profile = HardwareProfile(
        name=f"calibrated from a real {m.algo} run",
        cas_window=calibrated_cas_window(trace, m.algo, float(np.mean(m.short_publish))),
        cores=cores,
        compute=EmpiricalTiming(fit.compute),
        speed=m.speed,
        quantum=slice_time,
        slices=drawn_slices,
        description=f"fitted by real_exec.study.calibrate from {m.how}",
        **fit.profile_fields(),
    )
    return _interpreter_lock(profile, m, gil_handoff, lock_interpreted)


#: The shortest slice drawn, in median slices: a thread that lost its core sooner was
#: preempted by a thread woken from a lock wait (the simulator's wake-up preemption models
#: that) or by an interrupt, not at the end of its slice (docs/validation.md, "Time slices
#: that vary").
SPENT_SLICE = 0.25


def _quantum(
    m: _Measured, cores: int | None, gradient_cpu: np.ndarray | None, default: float
) -> tuple[float | None, EmpiricalTiming | None]:
    """The simulator's time slice and the slices drawn: none on cores of one's own; on
    time-shared cores, the median of the run's measured slices
    (:func:`~real_exec.study.time_slice.slices`), and draws from those of at least
    :data:`SPENT_SLICE` of it where every core had as many threads to share it (threads a
    multiple of the cores), else ``default`` and no draws. With threads that do not divide
    evenly, Linux keeps moving which thread has a core to itself, which the simulator's run
    queues do not do; slices drawn on top of its fixed placement moved the simulated
    staleness further from the real one (docs/validation.md, "Time slices that vary")."""
    if not m.shared:
        return None, None
    measured = slices(m.trace.table, gradient_cpu) if m.timeshared and gradient_cpu is not None else None
    if measured is None:
        return default, None
    median = float(np.median(measured))
    even = cores is not None and m.threads % cores == 0
    spent = measured[measured >= SPENT_SLICE * median]
    return median, EmpiricalTiming(spent) if even else None


@dataclass(frozen=True)
class _Measured:
    """What a Trace measured, as the phase fitters take it: per-row phase samples and the
    run's shape. ``compute`` is per gradient and rescaled to a nominal worker (``speed``), or
    the threads' CPU time when the cores were time-shared (``timeshared``); ``publish`` is per
    CAS attempt; ``gaps`` are the loop overheads between a publish and the next read."""

    trace: Trace
    algo: str
    threads: int
    shared: bool  # more threads than cores
    timeshared: bool  # shared, and the gradients' CPU times were recorded
    interpreted_publish: bool  # an interpreted loop of an INTERPRETED_PUBLISH algorithm
    compute: np.ndarray
    raw_compute: np.ndarray  # per row, before the speeds' rescaling
    speed: tuple[float, ...]
    row_speed: np.ndarray  # per row, its worker's factor in ``speed``
    publish: np.ndarray
    gaps: np.ndarray
    how: str

    def trim(self, samples: np.ndarray) -> np.ndarray:
        """The samples of a short phase not preempted (time-shared cores), else all."""
        return _unpreempted(samples) if self.timeshared else samples

    @property
    def short_gaps(self) -> np.ndarray:
        return self.trim(self.gaps)

    @property
    def short_publish(self) -> np.ndarray:
        return self.trim(self.publish)


def _measure(trace: Trace, cores: int | None, gradient_cpu: np.ndarray | None) -> _Measured:
    """The phase samples of ``trace`` (see the module docstring)."""
    table = trace.table
    if len(table) < 10:
        raise ValueError("need at least 10 recorded gradients to calibrate a profile")
    algo = trace.meta.get("algorithm", "hogwild")
    wall = (table["t_grad_done"] - table["t_read"]).to_numpy()
    compute = wall
    publish = per_attempt(table)
    gaps = _gaps(table)
    interpreted_publish = algo in INTERPRETED_PUBLISH and interpreted_loop(trace)
    if interpreted_publish:  # the simulated GIL adds the waits for it: keep the phases without one
        alone = ran_alone(table, "t_grad_done")
        if int(alone.sum()) >= 20:
            publish = publish[alone]
        alone_gaps = _gaps(table, ran_alone(table, "t_apply"))
        if alone_gaps.size >= 20:
            gaps = alone_gaps
    threads = int(trace.meta.get("workers", table["worker"].nunique()))
    shared = cores is not None and threads > cores
    timeshared = shared and _finite(gradient_cpu)
    workers = table["worker"].to_numpy()
    if timeshared:
        assert gradient_cpu is not None
        compute = in_table_order(table, gradient_cpu)  # recorded worker by worker
        how = "thread CPU times and unpreempted phases; the simulator time-shares the cores"
    else:
        how = "measured phase durations"
    if algo in PRIVATE_GRADIENTS:
        kept_core = ~lost_the_core(wall, compute) if timeshared else None
        pauses = common_pauses(table, compute, cores, kept_core)
        compute = without_pauses(compute, pauses, workers)
        if pauses.any():
            how += (
                f"; pauses common to the cores taken out of {np.mean(pauses > 0):.1%} of the gradients"
                f" (median {np.median(pauses[pauses > 0]) * 1e6:.0f} us)"
            )
    speed, row_speed = _per_worker_speed(compute, workers, typical="median" if timeshared else "mean")
    return _Measured(
        trace,
        algo,
        threads,
        shared,
        timeshared,
        interpreted_publish,
        compute / row_speed,
        compute,
        speed,
        row_speed,
        publish,
        gaps,
        how,
    )


def _per_worker_speed(
    compute: np.ndarray, workers: np.ndarray, typical: Literal["mean", "median"] = "mean"
) -> tuple[tuple[float, ...], np.ndarray]:
    """Each worker's speed factor, its typical gradient time over the fastest worker's
    (``tau_i / tau_1``), and each row's (its worker's factor): dividing the gradient
    samples by the latter rescales them to the fastest worker.

    ``typical`` is ``"mean"`` where each thread had a core, and ``"median"`` for the CPU
    times of time-shared cores: there a gradient begun before a preemption pays for the
    caches the other thread refilled, a tail whose weight depends on how often Linux
    preempted that thread (where it placed it), not on how fast the thread computes. With
    the mean, threads of equal speed came out unequal, and a simulated worker faster or
    slower than its core's partner lost many of its gradients to it (docs/validation.md,
    "Speeds on time-shared cores")."""
    grouped = pd.Series(compute).groupby(workers)
    typical_times = grouped.median() if typical == "median" else grouped.mean()
    factors = typical_times / typical_times.min()
    return tuple(float(v) for v in factors.to_numpy()), factors.reindex(workers).to_numpy()


@dataclass(frozen=True)
class _Fit:
    """The fitted phases: the gradient's samples, the read and publish timings, the lock's
    hand-off latency and the interpreted code run under the GIL per gradient."""

    compute: np.ndarray
    read: Any
    publish: Any
    lock_handoff: float = 0.0
    interpreted: float = 0.0
    convoy: float = 0.0
    convoy_reversed: float = 0.0
    paired_window: float = 0.0
    paired_ratio: Any = field(default_factory=lambda: Constant(1.0))
    stall: float = 0.0
    stall_window: float = 0.0
    publish_cached: Any = None
    publish_retry: Any = None
    stalled_share: float = 0.0  # of the real gradients, those the stall lengthened (not a profile field)

    def profile_fields(self) -> dict[str, Any]:
        """The fitted fields but the gradient's samples, by their profile field names."""
        skip = ("compute", "stalled_share")
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


def _fit_free(m: _Measured, gap_overhead: bool) -> _Fit:
    """Leashed-SGD, whose workers wait for no one: every phase as measured."""
    return _Fit(m.compute, EmpiricalTiming(m.short_gaps), EmpiricalTiming(m.short_publish))


def _fit_leashed(m: _Measured, gap_overhead: bool) -> _Fit:
    """Leashed-SGD: every phase as measured; the publish attempts by where they build
    (:func:`_by_attempt`; on time-shared cores, where the gradients' CPU times were
    recorded); the gradients' stall near another worker's
    publish (:func:`stall`), taken out of the gradient samples it lengthened (the simulator
    adds it back where it happens): from the gradients' wall-clock times with a core per
    worker, from their CPU times on time-shared cores (none without them), each rescaled to
    the fastest worker (the simulator slows a worker's stall by its ``speed``, as the rest of
    its gradient)."""
    fit = _fit_free(m, gap_overhead)
    if not m.interpreted_publish and m.threads > 1 and (m.timeshared or not m.shared):
        fit = _by_attempt(fit, m)
    if m.shared and not m.timeshared:
        return fit
    found = stall(m.trace.table, float(np.median(m.short_publish)), m.compute)
    if found is None:
        return fit
    seconds, window, stalled = found
    compute = np.maximum(m.compute - seconds * stalled, 0.5 * m.compute)
    share = float(np.mean(stalled))
    return replace(fit, compute=compute, stall=seconds, stall_window=window, stalled_share=share)


def _by_attempt(fit: _Fit, m: _Measured) -> _Fit:
    """Leashed-SGD's publish attempts as the Trace shows them (:func:`attempt_phases`): a
    first attempt on a newer version is ``publish``, one on the version read
    ``publish_cached``, a later one ``publish_retry``; a kind with too few rows is left out
    (the simulator takes ``publish`` for it). On time-shared cores, without the attempts that
    a preemption lengthened (:meth:`_Measured.trim`), as every short phase: the simulator
    preempts its workers itself."""
    phases = attempt_phases(m.trace.table)
    if phases.cached is None and phases.retry is None:
        return fit

    def timing(samples: np.ndarray | None) -> EmpiricalTiming | None:
        return None if samples is None else EmpiricalTiming(m.trim(samples))

    return replace(
        fit,
        publish=fit.publish if phases.fresh is None else timing(phases.fresh),
        publish_cached=timing(phases.cached),
        publish_retry=timing(phases.retry),
    )


#: How far below 1 a HOGWILD! run's coupling (:func:`theory.analysis.coupling`) must be for
#: its publishes' convoy to be modeled: six times the simulator's own deviation without one
#: (at most 0.005 at 20,000 updates, tests/staleness_sim).
COUPLED = 0.03

#: Or how close the ends of the publishes that met must be (the convoy's ``spread``, median
#: distance over the median publish), for the convoy to be modeled where the staleness
#: shows no coupling: about half a publish for independent workers, a few percent for a
#: convoy (docs/validation.md, "Convoys that end in either order").
TOGETHER = 0.25


def _fit_hogwild(m: _Measured, gap_overhead: bool) -> _Fit:
    """HOGWILD!: every phase as measured; with publishes that end together (the staleness
    shows coupling, below ``1 - COUPLED``, or their ends are within :data:`TOGETHER`), their
    convoy (:func:`convoy`): its lag, the share ending first, the publish phase from the
    publishes begun with no other under way (the others' ends are the convoy's), and the
    gradients that the convoy's workers then begin together (:func:`paired_gradients`),
    taken out of the gradient samples (the simulator pairs them again); on cores of their
    own or time-shared."""
    fit = _fit_free(m, gap_overhead)
    met = convoy(m.trace.table)
    c = coupling(m.trace)
    together = (c is not None and c < 1.0 - COUPLED) or met.spread < TOGETHER
    if met.lag <= 0 or int(met.alone.sum()) < 20 or not together:
        return fit
    fit = replace(
        fit, publish=EmpiricalTiming(m.publish[met.alone]), convoy=met.lag, convoy_reversed=met.reversed
    )
    window, ratios, second = paired_gradients(m.trace.table, m.compute)
    if ratios.size < CONVOY_PAIRS:
        return fit
    paired = EmpiricalTiming(ratios)
    return replace(fit, compute=m.compute[~second], paired_window=window, paired_ratio=paired)


def _decile(samples: np.ndarray) -> Constant:
    return Constant(float(np.quantile(samples, 0.1)))


def _fit_lock(m: _Measured, gap_overhead: bool) -> _Fit:
    """Lock-based SGD: the read under the lock keeps the gap's lower decile; with
    ``gap_overhead``, the loop's own overhead (the gap's median above that decile) runs
    outside the lock and joins the gradient phase. The publish from the publishes that found
    the lock free (pure service times; else the lower decile), and the lock's hand-off
    latency (:func:`lock_handoff`)."""
    compute = m.compute
    if gap_overhead:
        compute = compute + float(np.median(m.short_gaps) - np.quantile(m.short_gaps, 0.1))
    publish: Any = _decile(m.short_publish)
    # a gradient thrown away (Rennala's older versions, Ringmaster's delays >= R) spends no
    # publish, in the simulator as here
    table = m.trace.table
    queued = waited(table["t_grad_done"].to_numpy(), table["t_apply"].to_numpy())
    free = ~queued & ~table["dropped"].to_numpy(bool)
    if int(free.sum()) >= 20:
        publish = EmpiricalTiming(m.trim(m.publish[free]))
    return _Fit(compute, _decile(m.short_gaps), publish, lock_handoff(m.trace, float(publish.mean())))


def _fit_sync(m: _Measured, gap_overhead: bool) -> _Fit:
    """Synchronous SGD: the publish from the rounds' last arrivals, which waited for no one
    (their phase is the barrier's release and the averaged update; the others' contain their
    wait), else the lower decile. The read: where each worker has a core, the time from the
    round's release to the next read (:func:`~real_exec.study.rounds.after_release`: the
    waiters' wake-ups, which the simulator does not make); on time-shared cores, where the
    simulator makes the waits for a core itself, the gap's lower decile."""
    publish: Any = _decile(m.short_publish)
    last = last_arrivals(m.trace.table)
    if int(last.sum()) >= 20:
        publish = EmpiricalTiming(m.trim(m.publish[last]))
    read: Any = _decile(m.short_gaps)
    woken = np.zeros(0) if m.shared else after_release(m.trace.table)
    if woken.size >= 20:
        read = EmpiricalTiming(woken)
    return _Fit(m.compute, read, publish)


#: Algorithm -> its phase fitter ``(measured, gap_overhead) -> fit``.
PHASE_FITTERS: dict[str, Callable[[_Measured, bool], _Fit]] = {
    "lock": _fit_lock,
    "hogwild": _fit_hogwild,
    "leashed": _fit_leashed,
    "sync": _fit_sync,
    "rennala": _fit_lock,  # the same mutex around the read and around the step's batch
}


def _with_unaccounted_cpu(fit: _Fit, m: _Measured, worker_cpu: float) -> _Fit:
    """The threads' CPU per gradient beyond the fitted phases joins the gradient phase.

    A row's gradient phase is its worker's speed factor times the fitted one, so the phases
    are counted at the rows' mean factor ``s``, and the extra joins the fitted phase divided
    by ``s``: the simulated workers then spend as much CPU in all as the real threads did,
    slow ones included (``s = 1`` without slow workers). Leashed-SGD's stall, taken out of
    the gradients it lengthened and added back by the simulator where it happens, counts
    among the phases at the share of the real gradients it lengthened: it is CPU the
    simulated workers spend, not CPU beyond the phases."""
    attempts = float(m.trace.table["attempts"].clip(lower=1).mean())
    s = float(np.mean(m.row_speed))
    gradient = float(fit.compute.mean()) + fit.stall * fit.stalled_share
    phases = s * gradient + float(fit.read.mean()) + float(fit.publish.mean()) * attempts
    return replace(fit, compute=fit.compute + _unaccounted_cpu(worker_cpu, len(m.trace), phases) / s)


def _interpreted_outside_mutex(fit: _Fit, m: _Measured, worker_cpu: float) -> _Fit:
    """Lock-based runs of interpreted loops on time-shared cores: the CPU per gradient beyond
    the gradient and the phases under the mutex is interpreted code, run under the GIL."""
    kernels = float(np.mean(m.compute)) + float(fit.read.mean()) + float(fit.publish.mean())
    return replace(fit, interpreted=_unaccounted_cpu(worker_cpu, len(m.trace), kernels))


def _with_stolen_time(fit: _Fit, stolen: float | None) -> _Fit:
    """Seconds derived from CPU time, in wall-clock seconds (:func:`_wall_per_cpu`)."""
    scale = _wall_per_cpu(stolen)
    return replace(fit, compute=fit.compute * scale, interpreted=fit.interpreted * scale)


def _interpreter_lock(
    profile: HardwareProfile, m: _Measured, gil_handoff: float | None, lock_interpreted: bool
) -> HardwareProfile:
    """The interpreter lock of interpreted loops (see :func:`calibrate_profile`); ``profile``
    unchanged for compiled loops."""
    gil = m.interpreted_publish or (lock_interpreted and profile.interpreted > 0)
    if not gil:
        return profile
    if gil_handoff is None:  # waited on for as long as the others' interpreted code lasts
        stretch = 0.5 * profile.interpreted if lock_interpreted else float(np.mean(m.short_publish))
        gil_handoff = gil_handoff_here(stretch)
    profile = replace(profile, gil=True, gil_handoff=float(gil_handoff))
    if m.algo == "leashed" and m.threads > 1 and cas_statistics(m.trace)["failures"] > 0:
        seed = int(m.trace.meta.get("seed") or 0)
        profile = replace(profile, cas_window=fit_cas_window(m.trace, profile, seed=seed))
    return profile


def calibrate_run(real: RunResult, cores: int | None = None) -> HardwareProfile:
    """:func:`calibrate_profile` of a real run with everything the run measured: its Trace,
    the gradients' and the workers' CPU time, and the share of the cores' time the workers
    could not have: the stolen fraction plus the main thread's (its loss curve and checks,
    :func:`taken_from_workers`); ``cores`` default: this machine's."""
    cores = cores or usable_cores()
    return calibrate_profile(
        real.trace,
        cores,
        real.gradient_cpu,
        worker_cpu=real.worker_cpu,
        stolen=taken_from_workers(real, cores),
    )


def taken_from_workers(real: RunResult, cores: int | None) -> float:
    """The share of the cores' time that the workers of ``real`` could not have: what the
    hypervisor stole, plus the main thread's CPU seconds (evaluating the loss curve and the
    target) over the cores' seconds of the run. Only a calibration whose threads outnumber
    the cores uses it (time-shared cores, :func:`_with_stolen_time`): there the main thread
    competes with the workers for the cores, and the simulator's time-shared cores never
    idle. NaN stays NaN (nothing measured); a main thread not measured adds nothing."""
    stolen = real.stolen
    if not np.isfinite(stolen) or not cores or real.wall_time <= 0:
        return stolen
    return float(min(stolen + main_thread_share(real, cores), 0.9))


def main_thread_share(real: RunResult, cores: int) -> float:
    """The share of ``cores`` cores' time that the main thread of ``real`` used (its CPU
    seconds over ``cores`` times the run's seconds); 0 where it was not measured."""
    if not (np.isfinite(real.main_cpu) and real.wall_time > 0):
        return 0.0
    return float(real.main_cpu / (cores * real.wall_time))
