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

__all__ = ["DelayedSGDRun", "run_delayed_sgd"]


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
