"""Fit a hardware profile to a real run's Trace, for the simulator.

From each row: the gradient phase ``t_grad_done - t_read`` (for lock-based runs it includes
the copy made under the lock), the publish phase ``t_apply - t_grad_done`` divided by the
CAS attempts, and the gap before the worker's next read (loop overhead). Where a phase
contains waiting that the simulator models itself (the lock, the barrier), only its lower
decile is used, as a constant service time, or the samples that did not wait: lock-based
publishes that found the lock free, a synchronous round's last arrival. Per-worker speed
factors are the workers' mean gradient times over the pooled mean.

Real runs' worker loops are compiled and hold no interpreter lock, so their profiles model
none. Traces of runs whose loops were interpreted (recorded before the loops were compiled;
no ``worker_loop`` in their metadata) keep the interpreter-lock model: HOGWILD! and
Leashed-SGD (:data:`INTERPRETED_PUBLISH`) with the lock's hand-off latency measured on this
machine (:mod:`real_exec.interpreter_lock`), and lock-based runs with more threads than
cores, whose interpreted code outside the mutex (``interpreted``) takes turns on it.

Leashed-SGD's CAS window (:func:`cas_window`): the part of a publish attempt during which
another publish makes its CAS fail. A measured attempt also contains work that does not
depend on the latest version (the interpreter between kernels, the pool's slot search); the
window is the fraction that explains the measured failures. Under the interpreter lock the
workers' attempts overlap less than independent ones would, so there the window is found by
simulation (:func:`fit_cas_window`).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from real_exec.interpreter_lock import INTERPRETED_PUBLISH, gil_handoff_here, ran_alone
from staleness_sim.config import SimConfig
from staleness_sim.engines import simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import Constant, EmpiricalTiming
from theory.analysis import cas_statistics, throughput
from theory.trace import Trace

if TYPE_CHECKING:
    from real_exec.runner import RunResult

__all__ = ["calibrate_profile", "calibrate_run", "cas_window", "fit_cas_window", "lock_handoff"]


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


def lock_handoff(trace: Trace, service: float, min_samples: int = 20) -> float:
    """The lock's wake-up latency in a lock-based run: the median, over the publishes that
    asked for the lock before the previous publish released it (``t_grad_done`` of one before
    ``t_apply`` of the one before it, in publish order), of the time from that release to the
    end of the waiting publish, less the publish ``service`` time::

        h = median(t_apply[i] - t_apply[i - 1] - service),  clipped at 0

    A sample can also contain another worker's read taken in between (a barging read), which
    the median discounts. 0 with fewer than ``min_samples`` waiting publishes.
    """
    order = np.argsort(trace.table["t_apply"].to_numpy(), kind="stable")
    t_apply = trace.table["t_apply"].to_numpy()[order]
    waited = _waited(trace.table)[order]
    previous = np.r_[0.0, t_apply[:-1]]
    if int(waited.sum()) < min_samples:
        return 0.0
    return max(0.0, float(np.median(t_apply[waited] - previous[waited] - service)))


def _last_arrivals(table: Any) -> np.ndarray:
    """Per row of a synchronous run: whether its gradient was the last of its round (the
    latest ``t_grad_done`` among the rows with its ``apply_version``)."""
    latest = table.groupby("apply_version")["t_grad_done"].transform("max").to_numpy()
    return table["t_grad_done"].to_numpy() >= latest


def _waited(table: Any) -> np.ndarray:
    """Per row: whether its publish asked for the lock (``t_grad_done``) before the publish
    preceding it in publish order released it (its ``t_apply``)."""
    order = np.argsort(table["t_apply"].to_numpy(), kind="stable")
    t_apply = table["t_apply"].to_numpy()[order]
    asked = table["t_grad_done"].to_numpy()[order]
    sorted_waited = np.r_[False, asked[1:] < t_apply[:-1]]
    out = np.empty_like(sorted_waited)
    out[order] = sorted_waited
    return out


def cas_window(trace: Trace, publish_mean: float) -> float:
    """The fraction ``f`` of a publish attempt (mean ``publish_mean`` seconds) exposed to other
    workers' publishes, from the Trace's failed attempts.

    The other ``m - 1`` workers publish at rate ``lambda = X (m - 1) / m`` (``X``: the run's
    throughput); treating their publishes as a Poisson stream, an attempt whose window lasts
    ``w = f * publish_mean`` fails with probability ``p = 1 - exp(-lambda w)``. With ``p`` the
    measured failures per attempt::

        f = -ln(1 - p) / (lambda * publish_mean),   clipped to [0, 1]

    1 (the whole attempt exposed) when nothing can be learned: one worker, no attempts, no
    publish rate.
    """
    attempts = trace.table["attempts"].to_numpy()
    workers = int(trace.meta.get("workers", trace.table["worker"].nunique()))
    total = float(attempts.sum())
    rate = throughput(trace) * (workers - 1) / workers
    if workers < 2 or total <= 0 or not rate > 0 or not publish_mean > 0:
        return 1.0
    p = cas_statistics(trace)["failures"] / total
    if p >= 1.0:
        return 1.0
    return float(np.clip(-np.log1p(-p) / (rate * publish_mean), 0.0, 1.0))


def fit_cas_window(trace: Trace, profile: HardwareProfile, steps: int = 5, seed: int = 0) -> float:
    """The CAS window with which ``profile`` simulates as many failed attempts as ``trace``
    has: bisection on ``[0, 1]`` (``steps`` simulations of the run's length, so within
    ``2 ** -steps``), the simulated failures growing with the window. For profiles whose
    workers couple through more than the publishes (the interpreter lock), where the
    Poisson argument of :func:`cas_window` does not hold."""
    meta = trace.meta
    target = cas_statistics(trace)["failures"]
    lo, hi = 0.0, 1.0
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        config = SimConfig(
            "leashed",
            int(meta.get("workers", trace.table["worker"].nunique())),
            replace(profile, cas_window=mid),
            len(trace),
            seed=seed,
            persistence=meta.get("persistence"),
        )
        summary = simulate(config).summary()
        if summary["cas_failures"] > target:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


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


#: The operating system's time slice assumed when threads outnumber cores (seconds); Linux's
#: EEVDF scheduler gives runnable CPU-bound threads slices of the order of a few milliseconds.
DEFAULT_QUANTUM = 0.003


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

    When the run had more threads than ``cores``, its wall-clock phases include time spent
    preempted. The simulator models that time sharing itself (round robin with a time slice
    ``quantum``), so the gradient time is taken from the threads' CPU time (``gradient_cpu``,
    recorded by real runs) and the other, short phases keep only their samples that were not
    preempted (:func:`_unpreempted`). The worker threads also spend CPU time outside those
    samples (switching threads, caches refilled after a switch, phases that were preempted);
    with ``worker_cpu``, the threads' total CPU seconds, the difference per gradient joins the
    gradient phase, so that the simulated workers use as much CPU per gradient as the real
    ones (:func:`_unaccounted_cpu`). CPU seconds do not contain the time the hypervisor took
    from the cores (``stolen``, the fraction measured during the run,
    :mod:`real_exec.stolen_time`), wall-clock seconds do: the seconds derived from CPU time
    are divided by ``1 - stolen``.

    Profiles of real runs with interpreted worker loops (:func:`_interpreted_loop`) of
    :data:`INTERPRETED_PUBLISH` algorithms get ``gil = true`` and ``gil_handoff``: the given
    value, or else measured on this machine after a wait as long as the run's mean publish
    phase (the time a thread typically waits for the other's interpreted code); their read
    and publish phases are then taken from the samples that began while every other worker computed a gradient
    (:func:`~real_exec.interpreter_lock.ran_alone`), since the others contain waits for the
    GIL that the simulator adds itself; Leashed-SGD's CAS window is fitted by simulation
    (:func:`fit_cas_window`). Real lock-based runs with more threads than cores and
    ``worker_cpu`` and interpreted loops: the CPU per gradient beyond the gradient and the
    phases under the mutex becomes the profile's ``interpreted`` code, run under the GIL
    (``gil = true``, hand-off measured here), instead of joining the gradient phase.
    """
    table = trace.table
    if len(table) < 10:
        raise ValueError("need at least 10 recorded gradients to calibrate a profile")
    algo = trace.meta.get("algorithm", "hogwild")
    compute = (table["t_grad_done"] - table["t_read"]).to_numpy()
    publish = ((table["t_apply"] - table["t_grad_done"]) / table["attempts"].clip(lower=1)).to_numpy()
    gaps = _gaps(table)
    gil = algo in INTERPRETED_PUBLISH and _interpreted_loop(trace)
    if gil:  # the simulated GIL adds the waits for it: keep the phases that began without one
        alone = ran_alone(table, "t_grad_done")
        if int(alone.sum()) >= 20:
            publish = publish[alone]
        alone_gaps = _gaps(table, ran_alone(table, "t_apply"))
        if alone_gaps.size >= 20:
            gaps = alone_gaps
    waits_inside = algo in ("lock", "sync")
    threads = int(trace.meta.get("workers", table["worker"].nunique()))
    shared = cores is not None and threads > cores
    timeshared = shared and _finite(gradient_cpu)
    if timeshared:
        assert gradient_cpu is not None
        compute = np.asarray(gradient_cpu, dtype=np.float64)
        speed: tuple[float, ...] = (1.0,)
        how = "thread CPU times and unpreempted phases; the simulator time-shares the cores"
    else:
        by_worker = table.assign(c=compute).groupby("worker")["c"].mean()
        speed = tuple(float(v) for v in (by_worker / compute.mean()).to_numpy())
        # With per-worker speed factors the pooled samples are rescaled to a nominal worker.
        compute = compute / np.asarray([by_worker[w] / compute.mean() for w in table["worker"]])
        how = "measured phase durations"

    def trim(samples: np.ndarray) -> np.ndarray:
        return _unpreempted(samples) if timeshared else samples

    short_gaps, short_publish = trim(gaps), trim(publish)
    read: Any = Constant(float(np.quantile(short_gaps, 0.1))) if waits_inside else EmpiricalTiming(short_gaps)
    publish_timing: Any = (
        Constant(float(np.quantile(short_publish, 0.1))) if waits_inside else EmpiricalTiming(short_publish)
    )
    handoff = 0.0
    # Lock-based runs of real threads that time-share the cores: the loop's interpreted code
    # outside the mutex is modelled on its own, under the GIL (the threads' CPU time beyond
    # the phases). With a core per thread the wall-clock phases already contain its waits.
    lock_interpreted = (
        algo == "lock"
        and timeshared
        and _interpreted_loop(trace)
        and worker_cpu is not None
        and bool(np.isfinite(worker_cpu))
    )
    if algo == "lock" and not lock_interpreted:
        # The loop's own overhead (the gap's typical part above its lower decile) runs outside
        # the lock: it joins the gradient phase, and the read under the lock keeps the decile.
        compute = compute + float(np.median(short_gaps) - np.quantile(short_gaps, 0.1))
    if algo == "lock":
        free = ~_waited(table)
        if int(free.sum()) >= 20:  # publishes that found the lock free: pure service times
            publish_timing = EmpiricalTiming(trim(publish[free]))
        handoff = lock_handoff(trace, float(publish_timing.mean()))
    if algo == "sync":
        # The round's last arrival waited for no one: its publish phase is the barrier's
        # release and the averaged update (the others' contain their wait for it).
        last = _last_arrivals(table)
        if int(last.sum()) >= 20:
            publish_timing = EmpiricalTiming(trim(publish[last]))
    interpreted = 0.0
    if lock_interpreted:
        # The CPU per gradient beyond the gradient kernel and the phases under the mutex
        # (:func:`_unaccounted_cpu`), the gap's overhead included.
        assert gradient_cpu is not None and worker_cpu is not None
        kernels = float(np.mean(gradient_cpu)) + float(read.mean()) + float(publish_timing.mean())
        interpreted = _unaccounted_cpu(worker_cpu, len(table), kernels)
        gil = interpreted > 0
    elif timeshared and worker_cpu is not None:
        attempts = float(table["attempts"].clip(lower=1).mean())
        phases = float(compute.mean()) + float(read.mean()) + float(publish_timing.mean()) * attempts
        compute = compute + _unaccounted_cpu(worker_cpu, len(table), phases)
    if timeshared:
        wall_per_cpu = _wall_per_cpu(stolen)
        compute, interpreted = compute * wall_per_cpu, interpreted * wall_per_cpu
    if gil and gil_handoff is None:  # waited on for as long as the others' interpreted code lasts
        stretch = 0.5 * interpreted if lock_interpreted else float(np.mean(short_publish))
        gil_handoff = gil_handoff_here(stretch)
    profile = HardwareProfile(
        name=f"calibrated from a real {algo} run",
        lock_handoff=handoff,
        cas_window=cas_window(trace, float(np.mean(short_publish))) if algo == "leashed" else 1.0,
        cores=cores,
        compute=EmpiricalTiming(compute),
        read=read,
        publish=publish_timing,
        speed=speed,
        quantum=quantum if shared else None,
        gil=gil,
        gil_handoff=float(gil_handoff) if gil and gil_handoff is not None else 0.0,
        interpreted=interpreted,
        description=f"fitted by real_exec.calibrate from {how}",
    )
    if gil and algo == "leashed" and threads > 1 and cas_statistics(trace)["failures"] > 0:
        profile = replace(
            profile, cas_window=fit_cas_window(trace, profile, seed=int(trace.meta.get("seed") or 0))
        )
    return profile


def _interpreted_loop(trace: Trace) -> bool:
    """Whether ``trace`` is a real run whose worker loops ran Python code between kernels
    (under the interpreter lock): real runs made before the loops were compiled, whose
    metadata have no ``worker_loop``. Runs of compiled loops (``worker_loop = "compiled"``)
    hold no interpreter lock, so their profiles model none."""
    return (
        trace.meta.get("source") == "real" and trace.meta.get("worker_loop", "interpreted") == "interpreted"
    )


def calibrate_run(real: RunResult, cores: int | None = None) -> HardwareProfile:
    """:func:`calibrate_profile` of a real run with everything the run measured: its Trace,
    the gradients' and the workers' CPU time and the stolen fraction; ``cores`` default:
    this machine's."""
    return calibrate_profile(
        real.trace,
        cores or os.cpu_count(),
        real.gradient_cpu,
        worker_cpu=real.worker_cpu,
        stolen=real.stolen,
    )
