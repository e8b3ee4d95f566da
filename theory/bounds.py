"""Convergence bounds for SGD with delayed gradients, numeric and symbolic.

The iteration is ``x_{t+1} = x_t - eta0 s(tau_t) (grad f(x_{t - tau_t}) + xi_t)`` with
``E xi_t = 0``, ``E ||xi_t||^2 <= sigma2``, noise independent across steps and of the
delays, and ``f`` L-smooth. Each bound is one sympy expression (``spec.expr``) in the
symbols below; numbers come from ``sympy.lambdify`` of the same expression, and the
iterations needed to reach ``epsilon`` from solving ``expr = epsilon`` for ``T``.

All three follow the perturbed-iterate analysis of delayed SGD of Stich & Karimireddy
(JMLR 21(237), 2020, "The error-feedback framework: better rates for SGD with delayed
gradients and compressed updates", Sec. 4); the noise term's dependence on the *average*
delay ``m_tau`` (instead of ``tau_max``) is the refinement of Koloskova, Stich & Jaggi
(NeurIPS 2022, "Sharper convergence guarantees for asynchronous SGD"), and delay-adaptive
steps follow the spirit of Mishchenko et al. (NeurIPS 2022). The explicit constants below
are derived in docs/theory.md (our derivation; the papers state their rates with other
constants) and are checked against simulated delayed SGD in tests/theory/test_bounds.py.

Symbols: ``T`` iterations, ``eta`` = eta0, ``L``, ``sigma2``, ``F0 = f(x0) - f*``,
``r0 = ||x0 - x*||``, ``mu`` (PL constant), and the delay moments of
:class:`theory.delays.DelayMoments`: ``m1 = E[s]``, ``m2 = E[s^2]``, ``m_tau = E[s tau]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np
import sympy as sp
from scipy import optimize

from theory.delays import DelayMoments

__all__ = [
    "BOUNDS",
    "BoundResult",
    "BoundSpec",
    "evaluate_bound",
]

T, eta, L, sigma2, F0, r0, mu = sp.symbols("T eta L sigma2 F0 r0 mu", positive=True)
m1, m2, m_tau = sp.symbols("m1 m2 m_tau", nonnegative=True)
epsilon = sp.Symbol("epsilon", positive=True)

_COMMON_ASSUMPTIONS = (
    "f is L-smooth and bounded below",
    "unbiased stochastic gradients with E||xi||^2 <= sigma2, independent across steps",
    "delays tau_t <= tau_max, independent of the gradient noise",
    "delay-adaptive steps: delays i.i.d. from the given pmf, independent of the iterates",
)


@dataclass(frozen=True)
class BoundSpec:
    """A bound ``transient(T) + floor`` on ``quantity``, with ``transient -> 0`` as ``T`` grows.

    Valid when ``eta * s_max <= step_factor / (L (tau_max + 1))``.
    """

    name: str
    quantity: str
    transient: sp.Expr
    floor_expr: sp.Expr
    step_factor: float
    source: str
    assumptions: tuple[str, ...]
    params: tuple[str, ...]

    @property
    def expr(self) -> sp.Expr:
        """The bound after ``T`` iterations."""
        return self.transient + self.floor_expr

    @cached_property
    def iterations_expr(self) -> sp.Expr:
        """``T`` solving ``expr = epsilon`` (the iterations needed to reach ``epsilon``)."""
        (solution,) = sp.solve(sp.Eq(self.transient, epsilon - self.floor_expr), T)
        return sp.simplify(solution)

    def floor(self, values: dict[str, float]) -> float:
        """The bound as ``T -> infinity``: no number of iterations goes below it."""
        return float(self._floor_fn(**self._args(values)))

    def _symbols(self) -> list[sp.Symbol]:
        return [T, eta, L, sigma2, F0, r0, mu, m1, m2, m_tau, epsilon]

    @cached_property
    def _bound_fn(self) -> Callable[..., float]:
        return sp.lambdify(self._symbols(), self.expr, "numpy")

    @cached_property
    def _iter_fn(self) -> Callable[..., float]:
        return sp.lambdify(self._symbols(), self.iterations_expr, "numpy")

    @cached_property
    def _floor_fn(self) -> Callable[..., float]:
        return sp.lambdify(self._symbols(), self.floor_expr, "numpy")

    def step_limit(self, lsmooth: float, delays: DelayMoments) -> float:
        """Largest ``eta0`` the derivation allows."""
        return self.step_factor / (lsmooth * (delays.tau_max + 1) * delays.s_max)

    def bound(self, values: dict[str, float], iterations: float) -> float:
        return float(self._bound_fn(**self._args(values, T=iterations)))

    def iterations(self, values: dict[str, float], eps: float) -> float:
        """Iterations until the bound is ``<= eps``; ``inf`` if it never gets there."""
        args = self._args(values, epsilon=eps)
        if self.floor(values) >= eps:
            return float("inf")
        with np.errstate(all="ignore"):
            t = float(self._iter_fn(**args))
        if not np.isfinite(t):
            return float("inf")
        return max(0.0, float(np.ceil(t - 1e-9)))

    @staticmethod
    def _args(values: dict[str, float], **extra: float) -> dict[str, float]:
        names = ("T", "eta", "L", "sigma2", "F0", "r0", "mu", "m1", "m2", "m_tau", "epsilon")
        merged = {n: 1.0 for n in names} | values | extra
        return {n: merged[n] for n in names}


BOUNDS: dict[str, BoundSpec] = {
    "nonconvex": BoundSpec(
        name="nonconvex",
        quantity="(1/T) sum_t E||grad f(x_t)||^2",
        transient=2 * F0 / (eta * m1 * T),
        floor_expr=L * eta * m2 * sigma2 / m1 + 2 * L**2 * eta**2 * m_tau * m2 * sigma2 / m1,
        step_factor=0.5,
        source=(
            "delayed SGD, non-convex: perturbed-iterate analysis of Stich & Karimireddy "
            "(JMLR 2020, Sec. 4) with the average-delay noise term of Koloskova et al. "
            "(NeurIPS 2022, Thm. 6); constants derived in docs/theory.md"
        ),
        assumptions=(*_COMMON_ASSUMPTIONS, "eta0 * s_max <= 1 / (2 L (tau_max + 1))"),
        params=("L", "sigma2", "F0"),
    ),
    "convex": BoundSpec(
        name="convex",
        quantity="sum_t E[eta_t (f(x_{t-tau_t}) - f*)] / sum_t E[eta_t]",
        transient=r0**2 / (2 * eta * m1 * T),
        floor_expr=eta * m2 * sigma2 / (2 * m1) + 2 * L * eta**2 * m_tau * m2 * sigma2 / m1,
        step_factor=0.25,
        source=(
            "delayed SGD, convex: perturbed-iterate analysis of Stich & Karimireddy "
            "(JMLR 2020, Sec. 4), average-delay noise term as in Koloskova et al. "
            "(NeurIPS 2022); constants derived in docs/theory.md"
        ),
        assumptions=(*_COMMON_ASSUMPTIONS, "f convex", "eta0 * s_max <= 1 / (4 L (tau_max + 1))"),
        params=("L", "sigma2", "r0"),
    ),
    "pl": BoundSpec(
        name="pl",
        quantity="E[f(x_T) - f*]",
        transient=(1 - mu * eta * m1) ** T * F0,
        floor_expr=L * eta * m2 * sigma2 / (2 * mu * m1) + L**2 * eta**2 * m_tau * m2 * sigma2 / (mu * m1),
        step_factor=0.25,
        source=(
            "delayed SGD under the Polyak-Lojasiewicz condition: weighted perturbed-iterate "
            "analysis of Stich & Karimireddy (JMLR 2020, Sec. 4); constants derived in "
            "docs/theory.md"
        ),
        assumptions=(
            *_COMMON_ASSUMPTIONS,
            "PL: ||grad f(x)||^2 >= 2 mu (f(x) - f*)",
            "eta0 * s_max <= 1 / (4 L (tau_max + 1)); for a non-i.i.d. delay sequence m_tau = tau_max",
        ),
        params=("L", "sigma2", "F0", "mu"),
    ),
}


@dataclass(frozen=True)
class BoundResult:
    """A bound evaluated for one problem, delay model and step size."""

    kind: str
    quantity: str
    eta: float
    eta_max: float
    eta_chosen: bool  # the step was chosen by the bound (no eta0 given)
    iterations: int | None
    bound: float | None
    epsilon: float | None
    iterations_to_epsilon: float | None
    floor: float
    source: str
    assumptions: list[str]
    delays: dict[str, object]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _check_positive(name: str, value: float | None, allow_zero: bool = False) -> None:
    if value is None:
        return
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        rng = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {rng}, got {value}")


def evaluate_bound(
    kind: str,
    *,
    lsmooth: float,
    sigma2_: float,
    delays: DelayMoments,
    f0: float | None = None,
    r0_: float | None = None,
    mu_: float | None = None,
    eta0: float | None = None,
    iterations: int | None = None,
    eps: float | None = None,
) -> BoundResult:
    """Evaluate bound ``kind`` ('nonconvex', 'convex', 'pl').

    Without ``eta0`` the step is chosen: the one minimizing the iterations to ``eps`` if
    ``eps`` is given, else the one minimizing the bound after ``iterations``, always within
    the step limit of the derivation. Raises ``ValueError`` on invalid input.
    """
    if kind not in BOUNDS:
        raise ValueError(f"bound kind must be one of {', '.join(BOUNDS)}, got {kind!r}")
    spec = BOUNDS[kind]
    _check_positive("L", lsmooth)
    _check_positive("sigma2", sigma2_, allow_zero=True)
    _check_positive("f0", f0, allow_zero=True)
    _check_positive("r0", r0_, allow_zero=True)
    _check_positive("mu", mu_)
    _check_positive("eta", eta0)
    _check_positive("epsilon", eps)
    if iterations is not None and iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    if iterations is None and eps is None:
        raise ValueError("give iterations (T) or epsilon, or both")
    if "F0" in spec.params and f0 is None:
        raise ValueError(f"the {kind} bound needs f0 = f(x0) - f*")
    if "r0" in spec.params and r0_ is None:
        raise ValueError(f"the {kind} bound needs r0 = ||x0 - x*||")
    if "mu" in spec.params:
        if mu_ is None:
            raise ValueError("the pl bound needs mu")
        if mu_ > lsmooth:
            raise ValueError(f"mu must be in (0, L={lsmooth}], got {mu_}")
    if delays.m1 <= 0:
        raise ValueError("the step-size rule has E[s] = 0 on the delay pmf")
    m_tau_ = delays.m_tau if (delays.iid or kind != "pl") else float(delays.tau_max)
    values = {
        "L": lsmooth,
        "sigma2": sigma2_,
        "F0": f0 if f0 is not None else 1.0,
        "r0": r0_ if r0_ is not None else 1.0,
        "mu": mu_ if mu_ is not None else 1.0,
        "m1": delays.m1,
        "m2": delays.m2,
        "m_tau": m_tau_,
    }
    eta_max = spec.step_limit(lsmooth, delays)
    chosen = eta0 is None  # True: the step is the bound's choice, not the caller's
    if eta0 is None:
        eta0 = _best_eta(spec, values, eta_max, iterations, eps)
    elif eta0 > eta_max * (1 + 1e-12):
        raise ValueError(
            f"eta {eta0:g} is above what the {kind} bound allows: eta * max s <= "
            f"{spec.step_factor:g} / (L (tau_max + 1)), i.e. eta <= {eta_max:.6g}"
        )
    values["eta"] = eta0
    return BoundResult(
        kind=kind,
        quantity=spec.quantity,
        eta=float(eta0),
        eta_max=float(eta_max),
        eta_chosen=chosen,
        iterations=iterations,
        bound=None if iterations is None else spec.bound(values, iterations),
        epsilon=eps,
        iterations_to_epsilon=None if eps is None else spec.iterations(values, eps),
        floor=spec.floor(values),
        source=spec.source,
        assumptions=list(spec.assumptions),
        delays=delays.to_dict() | {"m_tau_used": m_tau_},
    )


def _best_eta(
    spec: BoundSpec,
    values: dict[str, float],
    eta_max: float,
    iterations: int | None,
    eps: float | None,
) -> float:
    """Minimize the iterations to ``eps`` (or the bound at ``iterations``) over eta."""

    def objective(log_eta: float) -> float:
        v = values | {"eta": float(np.exp(log_eta))}
        if eps is not None:
            n = spec.iterations(v, eps)
            return float(np.log(n + 1.0)) if np.isfinite(n) else 1e6 - log_eta
        assert iterations is not None
        return float(np.log(spec.bound(v, iterations)))

    hi = float(np.log(eta_max))
    grid = np.linspace(hi - 30.0, hi, 121)
    best = grid[int(np.argmin([objective(g) for g in grid]))]
    res = optimize.minimize_scalar(
        objective, bounds=(max(hi - 30.0, best - 0.25), min(hi, best + 0.25)), method="bounded"
    )
    candidate = float(res.x) if objective(float(res.x)) <= objective(best) else float(best)
    return min(eta_max, float(np.exp(candidate)))
