"""The delayed-SGD reference iteration, vectorized over independent runs.

    x_{t+1} = x_t - eta0 s(tau_t) (grad f(x_{t - tau_t}) + xi_t)

with iterates before ``x_0`` equal to ``x_0``. It is the mathematical model that the
simulator and the real backend feed with delays; here it checks the bounds of
:mod:`theory.bounds` on problems whose constants are known.

Delays come either i.i.d. from a staleness model / pmf (cut at ``tau_max``) or from a
given sequence (e.g. the staleness column of a :class:`theory.trace.Trace`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from theory.problems import Quadratic
from theory.staleness import StalenessModel, truncated_pmf
from theory.stepsize import StepSize, constant

__all__ = ["DelayedSGDRun", "TraceSGDRun", "run_delayed_sgd", "run_trace_sgd"]


@dataclass(frozen=True)
class DelayedSGDRun:
    """Per-run, per-step records of a batch of delayed-SGD runs (shape ``(runs, T)``).

    ``grad_sq``: ``||grad f(x_t)||^2``; ``gap``: ``f(x_t) - f*``; ``gap_read``: ``f(x_{t - tau_t}) - f*``;
    ``step``: ``eta_t``; ``delay``: ``tau_t``; ``gap_final`` (shape ``(runs,)``):
    ``f(x_T) - f*``.
    """

    grad_sq: npt.NDArray[np.float64]
    gap: npt.NDArray[np.float64]
    gap_read: npt.NDArray[np.float64]
    step: npt.NDArray[np.float64]
    delay: npt.NDArray[np.int64]
    gap_final: npt.NDArray[np.float64]

    @property
    def runs(self) -> int:
        return int(self.grad_sq.shape[0])

    @property
    def iterations(self) -> int:
        return int(self.grad_sq.shape[1])


def _delay_matrix(
    delays: StalenessModel | npt.ArrayLike,
    rng: np.random.Generator,
    runs: int,
    iterations: int,
    tau_max: int | None,
) -> npt.NDArray[np.int64]:
    if isinstance(delays, StalenessModel):
        p = truncated_pmf(delays, tau_max)
        return rng.choice(p.size, size=(runs, iterations), p=p).astype(np.int64)
    seq = np.asarray(delays)
    if seq.dtype.kind not in "iu":
        raise ValueError("a delay sequence must hold integers (wrap a pmf in Empirical.from_pmf)")
    if seq.ndim != 1 or seq.size < iterations:
        raise ValueError(f"a delay sequence needs at least {iterations} entries, got {seq.size}")
    if np.any(seq < 0):
        raise ValueError("delays must be >= 0")
    return np.broadcast_to(seq[:iterations], (runs, iterations)).copy()


def run_delayed_sgd(
    problem: Quadratic,
    x0: npt.ArrayLike,
    eta0: float,
    delays: StalenessModel | npt.ArrayLike,
    iterations: int,
    rng: np.random.Generator,
    runs: int = 1,
    rule: StepSize | None = None,
    tau_max: int | None = None,
) -> DelayedSGDRun:
    """Run ``runs`` independent copies of delayed SGD for ``iterations`` steps.

    ``delays`` is a staleness model (delays i.i.d., cut at ``tau_max`` or a 1e-9 tail; use
    :class:`theory.staleness.Empirical` for a pmf) or an integer sequence used as given.
    ``rule`` is the step scale ``s`` (default constant).
    """
    if not (np.isfinite(eta0) and eta0 > 0):
        raise ValueError(f"eta0 must be a finite number > 0, got {eta0}")
    if iterations < 1 or runs < 1:
        raise ValueError("iterations and runs must be >= 1")
    s = constant() if rule is None else rule
    tau = _delay_matrix(delays, rng, runs, iterations, tau_max)
    steps = eta0 * s(tau)
    hist_len = int(tau.max()) + 1
    x = np.broadcast_to(np.asarray(x0, dtype=np.float64), (runs, problem.dim)).copy()
    history = np.repeat(x[:, None, :], hist_len, axis=1)
    rows = np.arange(runs)
    grad_sq = np.empty((runs, iterations))
    gap = np.empty((runs, iterations))
    gap_read = np.empty((runs, iterations))
    for t in range(iterations):
        slot = t % hist_len
        history[:, slot] = x
        y = history[rows, (t - tau[:, t]) % hist_len]
        grad_x = problem.gradient(x)
        grad_sq[:, t] = np.einsum("ij,ij->i", grad_x, grad_x)
        gap[:, t] = problem.value(x) - problem.f_star
        gap_read[:, t] = problem.value(y) - problem.f_star
        g = problem.gradient(y) + problem.noise(rng, (runs,))
        x = x - steps[:, t, None] * g
    return DelayedSGDRun(grad_sq, gap, gap_read, steps, tau, problem.value(x) - problem.f_star)


@dataclass(frozen=True)
class TraceSGDRun:
    """Per-run, per-step records of SGD along a schedule (shape ``(runs, K)``, ``K`` steps):
    ``grad_sq`` ``||grad f(x_k)||^2`` and ``gap`` ``f(x_k) - f*`` before step ``k``;
    ``last_row[k]``: the schedule's row (position among the applied rows) that completed step ``k``;
    ``row_step``: each applied row's step factor ``eta0 s(tau) / |step|``; ``gap_final``
    (shape ``(runs,)``): ``f(x_K) - f*``."""

    grad_sq: npt.NDArray[np.float64]
    gap: npt.NDArray[np.float64]
    last_row: npt.NDArray[np.int64]
    row_step: npt.NDArray[np.float64]
    gap_final: npt.NDArray[np.float64]


def run_trace_sgd(
    problem: Quadratic,
    x0: npt.ArrayLike,
    eta0: float,
    read_version: npt.ArrayLike,
    apply_version: npt.ArrayLike,
    rng: np.random.Generator,
    runs: int = 1,
    rule: StepSize | None = None,
) -> TraceSGDRun:
    """SGD in a schedule's own steps: the applied rows (in publish order) with the same
    ``apply_version`` form one step, the mean of their scaled gradients, each computed at
    the version its row read:

        x_{v+1} = x_v - (eta0 / |B_v|) sum_{j in B_v} s(tau_j) (grad f(x_{r_j}) + xi_j)

    A lone row is delayed SGD's step; a synchronous round or a Rennala step averages its
    ``|B_v|`` gradients (noise ``sigma2 / |B_v|``). Rows must be grouped by step
    (:meth:`theory.trace.Trace.applied` order is).
    """
    if not (np.isfinite(eta0) and eta0 > 0):
        raise ValueError(f"eta0 must be a finite number > 0, got {eta0}")
    read = np.asarray(read_version, dtype=np.int64)
    version = np.asarray(apply_version, dtype=np.int64)
    if read.size == 0 or read.shape != version.shape:
        raise ValueError("give the applied rows' read and apply versions, as many of each (at least one)")
    tau = version - 1 - read
    if np.any(tau < 0):
        raise ValueError("a row reads a version at or after the one it applies")
    starts = np.flatnonzero(np.r_[True, version[1:] != version[:-1]])
    ends = np.r_[starts[1:], version.size]
    s = (constant() if rule is None else rule)(tau)
    row_step = eta0 * s / np.repeat(ends - starts, ends - starts)
    hist = int(tau.max()) + 1
    x = np.broadcast_to(np.asarray(x0, dtype=np.float64), (runs, problem.dim)).copy()
    history = np.repeat(x[:, None, :], hist, axis=1)
    grad_sq = np.empty((runs, starts.size))
    gap = np.empty((runs, starts.size))
    for k, (i, j) in enumerate(zip(starts, ends, strict=True)):
        history[:, (version[i] - 1) % hist] = x
        grad_x = problem.gradient(x)
        grad_sq[:, k] = np.einsum("ij,ij->i", grad_x, grad_x)
        gap[:, k] = problem.value(x) - problem.f_star
        step = np.zeros_like(x)
        for row in range(i, j):
            y = history[:, read[row] % hist]
            step += row_step[row] * (problem.gradient(y) + problem.noise(rng, (runs,)))
        x = x - step
    return TraceSGDRun(grad_sq, gap, ends - 1, row_step, problem.value(x) - problem.f_star)
