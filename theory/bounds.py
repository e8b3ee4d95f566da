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

Bounds by theorem (:data:`THEOREMS`): the expression of a kind is the same for every
theorem; what differs is the step-size condition, i.e. how large ``eta0`` may be, and so the
iterations to reach ``epsilon``:

* ``classic``: ``eta0 s_max <= c / (L (tau_max + 1))`` for any delay sequence; the rate
  ``O(sigma2 eps^-2 + tau_max eps^-1)``.
* ``average-delay`` (non-convex and convex; delays i.i.d. and independent of the iterates):
  ``eta0 <= c / (L sqrt(s_max max(s_max, m_tau2)))`` (``c`` = 1/2, 1/4) with ``m_tau2 = E[s tau^2] <= tau_max
  tau_avg``; the rate ``O(sigma2 eps^-2 + sqrt(tau_max tau_avg) eps^-1)`` of Koloskova, Stich &
  Jaggi (NeurIPS 2022) for the unchanged algorithm.
* ``average-delay-cutoff``: the same theorem with the delay-adaptive rule
  :func:`theory.stepsize.cutoff` (skip gradients older than twice the average delay), for
  which ``m_tau2 <= 2 tau_avg^2``: the rate ``O(sigma2 eps^-2 + tau_avg eps^-1)`` of their
  delay-adaptive scheme.
* ``workers`` (non-convex and convex, constant step, any delay sequence with at most ``n``
  gradients in flight): ``eta0 <= c / (L sqrt(n tau_max))``; the worker-count dependence of
  Mishchenko, Bach, Even & Woodworth (NeurIPS 2022), without their virtual-iterate argument
  that removes ``tau_max`` altogether.

The rates are the papers' (from their abstracts); every constant here is derived in
docs/theory.md ("Bounds by theorem"), none was checked against the papers' theorem texts.

Symbols: ``T`` iterations, ``eta`` = eta0, ``L``, ``sigma2``, ``F0 = f(x0) - f*``,
``r0 = ||x0 - x*||``, ``mu`` (PL constant), and the delay moments of
:class:`theory.delays.DelayMoments`: ``m1 = E[s]``, ``m2 = E[s^2]``, ``m_tau = E[s tau]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp
from scipy import optimize

from theory.delays import DelayMoments
from theory.stepsize import StepSize

__all__ = [
    "BOUNDS",
    "THEOREMS",
    "BoundResult",
    "BoundSpec",
    "Theorem",
    "all_bounds",
    "evaluate_bound",
    "theorem_delays",
    "tightest",
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


def _classic_limit(spec: BoundSpec, lsmooth: float, d: DelayMoments) -> float:
    return spec.step_limit(lsmooth, d)


def _average_delay_limit(spec: BoundSpec, lsmooth: float, d: DelayMoments) -> float:
    """``eta0 s_max <= c/L`` and ``L^2 eta0^2 s_max m_tau2 <= c^2`` with the kind's ``c``
    (1/2 non-convex, 1/4 convex; docs/theory.md)."""
    return spec.step_factor / (lsmooth * float(np.sqrt(d.s_max * max(d.s_max, d.m_tau2))))


def _workers_limit(spec: BoundSpec, lsmooth: float, d: DelayMoments) -> float:
    """``eta0 s <= c/L`` and ``L^2 (eta0 s)^2 n tau_max <= c^2`` (docs/theory.md)."""
    assert d.workers is not None
    return spec.step_factor / (lsmooth * d.s_max * float(np.sqrt(max(1, d.workers * d.tau_max))))


def _kinds(thm: Theorem) -> str:
    """``the nonconvex and convex bounds``, ``the nonconvex bound``."""
    names = " and ".join(thm.kinds)
    return f"the {names} bound" + ("s" if len(thm.kinds) > 1 else "")


def _needs_iid(d: DelayMoments) -> str | None:
    return None if d.iid else "needs i.i.d. delays (a pmf; or tau_max and tau_avg read as i.i.d.)"


def _needs_workers(d: DelayMoments) -> str | None:
    if d.workers is None:
        return "needs the number of workers (--workers)"
    return None if d.constant_step else "covers a constant step only"


@dataclass(frozen=True)
class Theorem:
    """A step-size condition under which a kind's bound holds (see the module docstring)."""

    name: str
    kinds: tuple[str, ...]
    condition: str
    rate: str
    source: str
    assumptions: tuple[str, ...]
    limit: Callable[[BoundSpec, float, DelayMoments], float]
    applies: Callable[[DelayMoments], str | None] = lambda d: None
    rule: str | None = None  # a theorem about a delay-adaptive rule: that rule replaces --rule

    def step_limit(self, kind: str, lsmooth: float, delays: DelayMoments) -> float:
        """Largest ``eta0`` this theorem allows for bound ``kind``."""
        return self.limit(BOUNDS[kind], lsmooth, delays)


THEOREMS: dict[str, Theorem] = {
    t.name: t
    for t in (
        Theorem(
            name="classic",
            kinds=tuple(BOUNDS),
            condition="eta0 s_max <= c / (L (tau_max + 1)), c = 1/2 (non-convex), 1/4 (convex, PL)",
            rate="O(sigma2 eps^-2 + tau_max eps^-1)",
            source="Stich & Karimireddy (JMLR 2020, Sec. 4); constants derived in docs/theory.md",
            assumptions=("any delay sequence with tau_t <= tau_max",),
            limit=_classic_limit,
        ),
        Theorem(
            name="average-delay",
            kinds=("nonconvex", "convex"),
            condition=(
                "eta0 <= c / (L sqrt(s_max max(s_max, E[s tau^2]))), c = 1/2 (non-convex), 1/4 (convex)"
            ),
            rate="O(sigma2 eps^-2 + sqrt(tau_max tau_avg) eps^-1)",
            source=(
                "rate of Koloskova, Stich & Jaggi (NeurIPS 2022) for unchanged asynchronous SGD; "
                "constants derived in docs/theory.md for i.i.d. delays"
            ),
            assumptions=("delays i.i.d. and independent of the iterates and the noise",),
            limit=_average_delay_limit,
            applies=_needs_iid,
        ),
        Theorem(
            name="average-delay-cutoff",
            kinds=("nonconvex", "convex"),
            condition="the cutoff rule (s = 1 if tau <= 2 E[tau], else 0) and the average-delay condition",
            rate="O(sigma2 eps^-2 + tau_avg eps^-1)",
            source=(
                "rate of the delay-adaptive step of Koloskova, Stich & Jaggi (NeurIPS 2022); "
                "rule theory.stepsize.cutoff; constants derived in docs/theory.md"
            ),
            assumptions=("delays i.i.d. and independent of the iterates and the noise",),
            limit=_average_delay_limit,
            applies=_needs_iid,
            rule="cutoff",
        ),
        Theorem(
            name="workers",
            kinds=("nonconvex", "convex"),
            condition="eta0 s <= c / (L sqrt(n tau_max)), constant step, c = 1/2 (non-convex), 1/4 (convex)",
            rate="O(sigma2 eps^-2 + sqrt(n tau_max) eps^-1)",
            source=(
                "worker-count dependence after Mishchenko, Bach, Even & Woodworth (NeurIPS 2022), "
                "whose virtual iterates remove tau_max (not reproduced); constants derived in "
                "docs/theory.md"
            ),
            assumptions=("any delay sequence with at most n gradients in flight at every step",),
            limit=_workers_limit,
            applies=_needs_workers,
        ),
    )
}


@dataclass(frozen=True)
class BoundResult:
    """A bound evaluated for one problem, delay model and step size."""

    kind: str
    quantity: str
    theorem: str
    condition: str
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


def _checked(
    kind: str,
    theorem: str,
    delays: DelayMoments,
    lsmooth: float,
    sigma2: float,
    f0: float | None,
    r0: float | None,
    mu: float | None,
    eta0: float | None,
    iterations: int | None,
    eps: float | None,
) -> tuple[BoundSpec, Theorem]:
    """:func:`evaluate_bound`'s inputs checked: the bound and theorem, or ``ValueError``."""
    if kind not in BOUNDS:
        raise ValueError(f"bound kind must be one of {', '.join(BOUNDS)}, got {kind!r}")
    if theorem not in THEOREMS:
        raise ValueError(f"theorem must be one of {', '.join(THEOREMS)}, got {theorem!r}")
    spec, thm = BOUNDS[kind], THEOREMS[theorem]
    if kind not in thm.kinds:
        raise ValueError(f"the {theorem} theorem covers {_kinds(thm)} only, not the {kind} bound")
    reason = thm.applies(delays)
    if reason is not None:
        raise ValueError(f"the {theorem} theorem {reason}")
    _check_positive("L", lsmooth)
    _check_positive("sigma2", sigma2, allow_zero=True)
    _check_positive("f0", f0, allow_zero=True)
    _check_positive("r0", r0, allow_zero=True)
    _check_positive("mu", mu)
    _check_positive("eta", eta0)
    _check_positive("epsilon", eps)
    if iterations is not None and iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    if iterations is None and eps is None:
        raise ValueError("give iterations (T) or epsilon, or both")
    if "F0" in spec.params and f0 is None:
        raise ValueError(f"the {kind} bound needs f0 = f(x0) - f*")
    if "r0" in spec.params and r0 is None:
        raise ValueError(f"the {kind} bound needs r0 = ||x0 - x*||")
    if "mu" in spec.params:
        if mu is None:
            raise ValueError("the pl bound needs mu")
        if mu > lsmooth:
            raise ValueError(f"mu must be in (0, L={lsmooth}], got {mu}")
    return spec, thm


def evaluate_bound(
    kind: str,
    *,
    lsmooth: float,
    sigma2: float,
    delays: DelayMoments,
    f0: float | None = None,
    r0: float | None = None,
    mu: float | None = None,
    eta0: float | None = None,
    iterations: int | None = None,
    eps: float | None = None,
    theorem: str = "classic",
) -> BoundResult:
    """Evaluate bound ``kind`` ('nonconvex', 'convex', 'pl') under ``theorem`` (a key of
    :data:`THEOREMS`; for a theorem about a rule, ``delays`` must be that rule's, as
    :func:`all_bounds` builds them).

    Without ``eta0`` the step is chosen: the one minimizing the iterations to ``eps`` if
    ``eps`` is given, else the one minimizing the bound after ``iterations``, always within
    the theorem's step limit. Raises ``ValueError`` on invalid input or where the theorem
    does not apply.
    """
    spec, thm = _checked(kind, theorem, delays, lsmooth, sigma2, f0, r0, mu, eta0, iterations, eps)
    if delays.m1 <= 0:
        raise ValueError("the step-size rule has E[s] = 0 on the delay pmf")
    m_tau_ = delays.m_tau if (delays.iid or kind != "pl") else float(delays.tau_max)
    values = {
        "L": lsmooth,
        "sigma2": sigma2,
        "F0": f0 if f0 is not None else 1.0,
        "r0": r0 if r0 is not None else 1.0,
        "mu": mu if mu is not None else 1.0,
        "m1": delays.m1,
        "m2": delays.m2,
        "m_tau": m_tau_,
    }
    eta_max = thm.step_limit(kind, lsmooth, delays)
    chosen = eta0 is None  # True: the step is the bound's choice, not the caller's
    if eta0 is None:
        eta0 = _best_eta(spec, values, eta_max, iterations, eps)
    elif eta0 > eta_max * (1 + 1e-12):
        raise ValueError(
            f"eta {eta0:g} is above what the {kind} bound allows under the {theorem} theorem "
            f"({thm.condition}): eta <= {eta_max:.6g}"
        )
    values["eta"] = eta0
    classic = theorem == "classic"
    return BoundResult(
        kind=kind,
        quantity=spec.quantity,
        theorem=theorem,
        condition=thm.condition,
        eta=float(eta0),
        eta_max=float(eta_max),
        eta_chosen=chosen,
        iterations=iterations,
        bound=None if iterations is None else spec.bound(values, iterations),
        epsilon=eps,
        iterations_to_epsilon=None if eps is None else spec.iterations(values, eps),
        floor=spec.floor(values),
        source=spec.source if classic else thm.source,
        assumptions=list(spec.assumptions)
        if classic
        else [*spec.assumptions[:-1], *thm.assumptions, thm.condition],
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


def theorem_delays(
    theorem: str,
    *,
    pmf: Any = None,
    rule: StepSize | None = None,
    tau_max: int | None = None,
    tau_avg: float | None = None,
    workers: int | None = None,
) -> DelayMoments:
    """The delay moments ``theorem`` is evaluated with (see :func:`all_bounds`)."""
    from dataclasses import replace

    from theory.delays import delay_moments
    from theory.stepsize import cutoff

    thm = THEOREMS[theorem]
    if thm.rule == "cutoff" and pmf is not None:
        return delay_moments(pmf=pmf, rule=cutoff(pmf), tau_max=tau_max, workers=workers)
    base = delay_moments(pmf=pmf, rule=rule, tau_max=tau_max, tau_avg=tau_avg, workers=workers)
    if thm.rule == "cutoff":
        avg = base.m_tau
        return DelayMoments(
            tau_max=min(base.tau_max, int(2 * avg)), m1=0.5, m2=0.5, m_tau=avg, s_max=1.0,
            iid=True, m_tau2=2 * avg * avg, workers=workers, constant_step=False,
        )  # fmt: skip
    if thm.applies is _needs_iid and pmf is None:
        return replace(base, iid=True)  # tau_max and tau_avg read as i.i.d. delays
    return base


def all_bounds(
    kind: str,
    *,
    lsmooth: float,
    sigma2: float,
    pmf: Any = None,
    rule: StepSize | None = None,
    tau_max: int | None = None,
    tau_avg: float | None = None,
    workers: int | None = None,
    f0: float | None = None,
    r0: float | None = None,
    mu: float | None = None,
    eta0: float | None = None,
    iterations: int | None = None,
    eps: float | None = None,
) -> tuple[list[BoundResult], dict[str, str]]:
    """Every theorem of :data:`THEOREMS` that covers ``kind`` and these delays, and why the
    others do not apply (``{theorem: reason}``).

    Delays are a pmf (i.i.d.; with ``rule``) or ``tau_max`` and ``tau_avg``, which the
    average-delay theorems read as i.i.d. delays of at most ``tau_max`` and mean at most
    ``tau_avg`` (then ``E[tau^2] <= tau_max tau_avg``; with the cutoff rule ``P(kept) >= 1/2``
    by Markov's inequality, ``E[s tau] <= tau_avg`` and ``E[s tau^2] <= 2 tau_avg^2``).
    """
    results, skipped = [], {}
    for name, thm in THEOREMS.items():
        if kind not in thm.kinds:
            skipped[name] = f"covers {_kinds(thm)} only"
            continue
        delays = theorem_delays(name, pmf=pmf, rule=rule, tau_max=tau_max, tau_avg=tau_avg, workers=workers)
        try:
            results.append(
                evaluate_bound(
                    kind,
                    lsmooth=lsmooth,
                    sigma2=sigma2,
                    delays=delays,
                    f0=f0,
                    r0=r0,
                    mu=mu,
                    eta0=eta0,
                    iterations=iterations,
                    eps=eps,
                    theorem=name,
                )
            )
        except ValueError as exc:
            if thm.applies(delays) is None and "above what" not in str(exc):
                raise
            skipped[name] = str(exc)
    return results, skipped


def tightest(results: list[BoundResult]) -> BoundResult:
    """The result needing the fewest iterations to epsilon (or, without epsilon, with the
    smallest bound after T)."""
    if not results:
        raise ValueError("no bound applies")
    if results[0].epsilon is not None:
        return min(results, key=lambda r: (r.iterations_to_epsilon, r.theorem != "classic"))
    return min(results, key=lambda r: (r.bound, r.theorem != "classic"))
