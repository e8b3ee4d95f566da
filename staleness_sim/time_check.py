"""Time to epsilon, simulated, held against its bound (:mod:`theory.time_bounds`).

On a quadratic with known ``L``, ``sigma2`` and ``Delta``, workers with fixed compute times
``tau_i`` (constant durations, no read or publish cost: the fixed computation model), each
method runs as the simulator's mechanism with the parameters its bound chose (``R``, ``S``,
the step ``eta``):

* ``minibatch``: synchronous SGD; ``asynchronous``: lock-based SGD;
* ``ringmaster``: lock-based SGD with the threshold ``R`` (gradients whose delay reached ``R``
  thrown away); ``rennala``: Rennala SGD with ``S``.

SGD then runs in the simulated schedule (:func:`theory.delayed_sgd.run_trace_sgd`, ``runs``
independent noise draws), and the measured time to epsilon is the first step at which the
running average ``(1/k) sum_{j < k} ||grad f(x_j)||^2``, averaged over the runs, is at most
``epsilon``: what the bound bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from staleness_sim.config import SimConfig
from staleness_sim.engines import simulate
from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import Constant
from theory.delayed_sgd import run_trace_sgd
from theory.problems import Quadratic
from theory.time_bounds import Objective, TimeBound, time_bounds

__all__ = [
    "MECHANISM_OF",
    "MethodCheck",
    "check_time_bounds",
    "fixed_profile",
    "quadratic_for",
    "sampled_crossing",
]

#: Method of :data:`theory.time_bounds.METHODS` -> the simulated algorithm that runs it.
MECHANISM_OF: dict[str, str] = {
    "minibatch": "sync",
    "asynchronous": "lock",
    "ringmaster": "lock",
    "rennala": "rennala",
}


@dataclass(frozen=True)
class MethodCheck:
    """One method: its bound, the simulated time of the bound's ``K`` steps, the running
    average at ``K`` steps, and the first simulated time the running average reached
    epsilon (``None``: not within the simulated steps)."""

    bound: TimeBound
    steps_time: float
    average_at_k: float
    reached: float | None
    dropped_share: float
    reached_sampled: float | None = None  # as a monitor sampling every ``sample`` s sees it

    @property
    def ratio(self) -> float:
        """Simulated time to epsilon over the bound (``nan`` if not reached)."""
        return self.reached / self.bound.time if self.reached is not None else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.bound.method,
            "bound": self.bound.time,
            "parameter": f"{self.bound.parameter} = {self.bound.value}",
            "iterations": self.bound.iterations,
            "eta": self.bound.eta,
            "simulated": self.reached,
            "ratio": self.ratio,
            "steps_time": self.steps_time,
            "average_at_k": self.average_at_k,
            "dropped_share": self.dropped_share,
            "simulated_sampled": self.reached_sampled,
        }


def sampled_crossing(
    grad_sq: npt.ArrayLike, steps: npt.ArrayLike, times: npt.ArrayLike, epsilon: float
) -> float | None:
    """The first of ``times`` at which the running average of ``||grad f(x_j)||^2`` over
    the iterates so far, estimated from samples, is at most ``epsilon`` (``None``: never).

    Sample ``s`` was taken at ``times[s]`` with ``steps[s]`` steps applied and saw
    ``grad_sq[s]``; the steps between two samples are given the mean of the two samples'
    values (the trapezoid rule in iterations). This is what a real run's monitor can
    measure; it overestimates the sum while ``||grad f||^2`` falls faster than the samples.
    """
    g, n, t = (np.asarray(a, dtype=np.float64) for a in (grad_sq, steps, times))
    area = np.concatenate([[0.0], np.cumsum(np.diff(n) * 0.5 * (g[1:] + g[:-1]))])
    with np.errstate(invalid="ignore", divide="ignore"):
        running = np.where(n > 0, area / n, np.inf)
    below = np.flatnonzero(running <= epsilon)
    return float(t[below[0]]) if below.size else None


def _sampled(
    per_step: npt.NDArray[np.float64], step_end: npt.NDArray[np.float64], every: float, epsilon: float
) -> float | None:
    """:func:`sampled_crossing` of a simulated run sampled every ``every`` seconds from 0:
    ``per_step[j] = ||grad f(x_j)||^2``, step ``j`` ending at ``step_end[j]``."""
    times = np.arange(0.0, float(step_end[-1]) + every, every)
    done = np.minimum(np.searchsorted(step_end, times, side="right"), per_step.size - 1)
    return sampled_crossing(per_step[done], done, times, epsilon)


def quadratic_for(
    objective: Objective, dim: int = 10, seed: int = 0
) -> tuple[Quadratic, npt.NDArray[np.float64]]:
    """A quadratic with ``objective``'s constants and a start ``x0`` with ``f(x0) - f* =
    Delta``: eigenvalues in ``[L/20, L]`` (``L`` attained), noise ``sigma2``, ``x0`` on a
    random direction from the minimizer."""
    from theory.problems import random_quadratic

    rng = np.random.default_rng(seed)
    o = objective
    q = random_quadratic(rng, dim=dim, lsmooth=o.lsmooth, mu=o.lsmooth / 20, sigma2=o.sigma2)
    v = rng.standard_normal(dim)
    curvature = float(v @ q.a @ v)
    return q, q.x_star + np.sqrt(2.0 * o.f0 / curvature) * v


def fixed_profile(speeds: npt.ArrayLike, seconds: float = 1.0) -> HardwareProfile:
    """Workers that need exactly ``seconds * speed_i`` per gradient, nothing else costs time."""
    return HardwareProfile(
        name="fixed computation model",
        compute=Constant(seconds),
        speed=tuple(float(s) for s in np.asarray(speeds, dtype=np.float64)),
    )


def _config(bound: TimeBound, workers: int, profile: HardwareProfile, gradients: int, seed: int) -> SimConfig:
    algo = MECHANISM_OF[bound.method]
    extra: dict[str, Any] = {}
    if bound.method == "ringmaster":
        extra["threshold"] = bound.value
    if bound.method == "rennala":
        extra["step_batch"] = bound.value
    return SimConfig(algo, workers, profile, gradients, seed=seed, **extra)


def _schedule(bound: TimeBound, workers: int, profile: HardwareProfile, seed: int) -> Any:
    """A simulated Trace with at least the bound's ``K`` steps (grown until it has them)."""
    steps = int(bound.iterations)
    per_step = bound.value if bound.method in ("minibatch", "rennala") else 1
    gradients = max(steps * per_step + steps // 10 + 4 * workers, 16)
    while True:
        trace = simulate(_config(bound, workers, profile, gradients, seed)).trace
        applied = trace.applied()
        if applied["apply_version"].nunique() >= steps + 1:
            return trace
        gradients *= 2


def check_time_bounds(
    problem: Quadratic,
    x0: npt.ArrayLike,
    speeds: npt.ArrayLike,
    epsilon: float,
    *,
    seconds: float = 1.0,
    runs: int = 16,
    seed: int = 0,
    methods: Sequence[str] | None = None,
    sample: float | None = None,
) -> list[MethodCheck]:
    """Each method's bound on ``problem`` from ``x0`` with workers of compute times
    ``seconds * speeds``, beside its simulated time to ``epsilon`` (see the module
    docstring); with ``sample``, also that time as a monitor sampling the iterate every
    ``sample`` seconds would measure it (:func:`sampled_crossing`), as a real run's is."""
    x0 = np.asarray(x0, dtype=np.float64)
    f0 = float(problem.value(x0) - problem.f_star)
    objective = Objective(problem.lsmooth, problem.sigma2, f0, epsilon)
    speeds = np.asarray(speeds, dtype=np.float64)
    profile = fixed_profile(speeds, seconds)
    workers = speeds.size
    out = []
    for bound in time_bounds(seconds * speeds, objective, methods):
        trace = _schedule(bound, workers, profile, seed)
        applied = trace.applied()
        rng = np.random.default_rng([seed, 7])
        run = run_trace_sgd(
            problem,
            x0,
            bound.eta,
            applied["read_version"].to_numpy(dtype=np.int64),
            applied["apply_version"].to_numpy(dtype=np.int64),
            rng,
            runs=runs,
        )
        per_step = run.grad_sq.mean(axis=0)
        running = np.cumsum(per_step) / np.arange(1, per_step.size + 1)
        step_end = applied["t_apply"].to_numpy()[run.last_row]
        k = max(1, int(bound.iterations))
        below = np.flatnonzero(running <= epsilon)
        out.append(
            MethodCheck(
                bound=bound,
                steps_time=float(step_end[k - 1]),
                average_at_k=float(running[k - 1]),
                reached=float(step_end[below[0]]) if below.size else None,
                dropped_share=float(trace.table["dropped"].mean()),
                reached_sampled=None if sample is None else _sampled(per_step, step_end, sample, epsilon),
            )
        )
    return out
