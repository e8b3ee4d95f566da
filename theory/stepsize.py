"""Staleness-adaptive step sizes ``eta(tau) = eta0 * s(tau)``.

Each factory returns a pure callable ``s`` that maps an array of delays to an array of
scale factors (the style of optax's schedules). Delays are non-negative integers; the
callables accept any array shape and return ``float64``.

:data:`RULES` is the one registry of the rules by name: what every command, the simulator's
SGD and the real runs accept (``docs/architecture.md``, "How to add a step-size rule").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from theory.staleness import PmfLike, as_pmf

__all__ = [
    "RULES",
    "CdfKind",
    "Rule",
    "RuleOptions",
    "StepSize",
    "constant",
    "cutoff",
    "exponential",
    "fleet",
    "inverse",
    "mindthestep",
    "ringmaster",
    "tail_tau",
]

StepSize = Callable[[npt.ArrayLike], npt.NDArray[np.float64]]
CdfKind = Literal["strict", "inclusive", "midpoint"]


def _tau(tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
    t = np.asarray(tau, dtype=np.float64)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("staleness tau must be finite and >= 0")
    return t


def constant() -> StepSize:
    """Constant step: ``s(tau) = 1`` (plain AsyncSGD).

    >>> constant()([0, 5]).tolist()
    [1.0, 1.0]
    """

    def s(tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return np.ones_like(_tau(tau))

    return s


def inverse() -> StepSize:
    """Staleness-aware step ``s(tau) = 1 / (tau + 1)`` (Zhang et al., IJCAI 2016).

    >>> inverse()([0, 1, 3]).tolist()
    [1.0, 0.5, 0.25]
    """

    def s(tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return 1.0 / (_tau(tau) + 1.0)

    return s


def cutoff(pmf: PmfLike, factor: float = 2.0) -> StepSize:
    """Delay-adaptive cut-off: ``s(tau) = 1`` if ``tau <= factor * E_P[tau]``, else 0 (the
    gradient is skipped).

    In the spirit of the delay-adaptive step of Koloskova, Stich & Jaggi (NeurIPS 2022):
    skipping the gradients whose delay exceeds a multiple of the average keeps at least a
    fraction ``1 - 1/factor`` of them (Markov) and bounds ``E[s tau^2] <= factor E[tau]^2``,
    which gives the average-delay rate ``O(sigma^2 eps^-2 + tau_avg eps^-1)`` (the
    ``average-delay`` bound of :mod:`theory.bounds`). The exact form of the paper's rule was
    not checked against its text.

    >>> cutoff([0.5, 0.25, 0.25])([0, 1, 2, 3]).tolist()   # E[tau] = 0.75: keep tau <= 1.5
    [1.0, 1.0, 0.0, 0.0]
    """
    if not (np.isfinite(factor) and factor >= 1.0):
        raise ValueError(f"the cut-off factor must be >= 1, got {factor}")
    p = as_pmf(pmf)
    limit = factor * float(np.dot(np.arange(p.size), p))

    def s(tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return np.where(_tau(tau) <= limit + 1e-12, 1.0, 0.0)

    return s


def ringmaster(threshold: int) -> StepSize:
    """Ringmaster ASGD's rule: ``s(tau) = 1`` if ``tau < R``, else 0 (the gradient is thrown
    away), ``R = threshold`` (Maranjyan, Tyurin & Richtarik, ICML 2025). Their analysis takes
    ``R`` of the order of ``sigma2 / epsilon``; :mod:`theory.time_bounds` chooses it for a
    machine's compute times. As a rule, a skipped gradient still counts as an update.

    >>> ringmaster(2)([0, 1, 2, 5]).tolist()
    [1.0, 1.0, 0.0, 0.0]
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer) or threshold < 1:
        raise ValueError(f"the Ringmaster threshold R must be an integer >= 1, got {threshold!r}")
    limit = int(threshold)

    def s(tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return np.where(_tau(tau) < limit, 1.0, 0.0)

    return s


def exponential(beta: float) -> StepSize:
    """Exponential dampening ``s(tau) = exp(-beta * tau)``, ``beta >= 0``.

    >>> exponential(0.0)([0, 9]).tolist()
    [1.0, 1.0]
    """
    if not (np.isfinite(beta) and beta >= 0.0):
        raise ValueError(f"beta must be a finite number >= 0, got {beta}")

    def s(tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return np.exp(-beta * _tau(tau))

    return s


def fleet(workers: int | None = None, tau_thr: float | None = None) -> StepSize:
    """FLeet's exponential dampening: ``s(tau) = exp(-beta tau)`` with
    ``beta = (2 / tau_thr) ln(1 + tau_thr / 2)`` and by default ``tau_thr = m + 1``
    (Damaskinos et al., FLeet, Middleware 2020). ``beta`` is chosen so that the
    exponential meets the inverse rule at ``tau = tau_thr / 2``.

    >>> m = 3; round(float(fleet(workers=m)([2.0])[0]), 12) == round(1.0 / (1.0 + (m + 1) / 2), 12)
    True
    """
    if tau_thr is None:
        if workers is None or workers < 1:
            raise ValueError(f"fleet needs workers >= 1 or tau_thr > 0, got workers={workers}")
        tau_thr = workers + 1.0
    if not (np.isfinite(tau_thr) and tau_thr > 0.0):
        raise ValueError(f"tau_thr must be a finite number > 0, got {tau_thr}")
    return exponential((2.0 / tau_thr) * np.log1p(tau_thr / 2.0))


def _cdf_table(p: npt.NDArray[np.float64], cdf: CdfKind) -> npt.NDArray[np.float64]:
    inclusive = np.cumsum(p)
    if cdf == "inclusive":
        return inclusive
    strict = inclusive - p
    if cdf == "strict":
        return strict
    if cdf == "midpoint":
        return strict + 0.5 * p
    raise ValueError(f"cdf must be 'strict', 'inclusive' or 'midpoint', got {cdf!r}")


def tail_tau(
    pmf: PmfLike,
    amplitude: float = 0.5,
    cdf: CdfKind = "strict",
) -> StepSize:
    """TAIL-tau (ASAP.SGD, Backstrom et al. 2022): ``s(tau) = 1 + A (1 - 2 F(tau))``.

    ``F`` is the staleness CDF of this execution, given as a pmf (a model, or
    probabilities of ``tau = 0, 1, ...``, e.g. from a warm-up sample). Fresh updates get up
    to ``(1 + A) eta0``, updates in the tail down to ``(1 - A) eta0``; beyond the support
    ``F = 1``. ``cdf`` picks ``F``: ``"strict"`` ``P(tau' < tau)`` as in the authors' code,
    ``"inclusive"`` ``P(tau' <= tau)``, or ``"midpoint"`` ``P(tau' < tau) + P(tau' = tau)/2``,
    the one choice with ``E_P[s] = 1`` exactly (``E_P[F_mid] = 1/2`` for any pmf).

    >>> tail_tau([0.5, 0.5], amplitude=1.0)([0, 1, 2]).tolist()
    [2.0, 1.0, 0.0]
    """
    if not (np.isfinite(amplitude) and 0.0 <= amplitude <= 1.0):
        raise ValueError(f"amplitude must be in [0, 1], got {amplitude}")
    table = _cdf_table(as_pmf(pmf), cdf)

    def s(tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        t = np.floor(_tau(tau))
        idx = np.minimum(t, table.size - 1).astype(np.int64)
        f = np.where(t < table.size, table[idx], 1.0)
        return 1.0 + amplitude * (1.0 - 2.0 * f)

    return s


def mindthestep(pmf: PmfLike, momentum: float | None = None, cap: float = 10.0) -> StepSize:
    """MindTheStep: ``s(tau) = min(cap, (1 - K) K^tau / P(tau))``.

    The expected contribution of a gradient of staleness ``tau`` becomes
    ``P(tau) s(tau) = (1 - K) K^tau``: stale gradients are weighted geometrically, as
    momentum ``K`` would weight them, whatever the execution's staleness distribution ``P``.
    Uncapped it keeps ``E_P[s] = sum_k (1 - K) K^k = 1``. Where ``P(tau)`` is tiny or zero the
    ratio explodes, hence ``cap`` (``P(tau) = 0`` maps to ``cap``); the cap and a finite
    support lower ``E_P[s]`` below 1 -- :func:`theory.properties.check_properties` reports
    by how much. Default ``K = E[tau] / (1 + E[tau])``, the momentum of a geometric model
    with the same mean. This form is our reconstruction from the paper's abstract and the
    momentum model of Mitliagkas et al.; see docs/theory.md.

    >>> s = mindthestep([0.5, 0.25, 0.125, 0.125], momentum=0.5)
    >>> s([0, 1, 2]).tolist()
    [1.0, 1.0, 1.0]
    """
    p = as_pmf(pmf)
    k = np.arange(p.size)
    if momentum is None:
        mean = float(np.dot(k, p))
        momentum = mean / (1.0 + mean)
    if not (np.isfinite(momentum) and 0.0 <= momentum < 1.0):
        raise ValueError(f"momentum K must be in [0, 1), got {momentum}")
    if not (np.isfinite(cap) and cap > 0.0):
        raise ValueError(f"cap must be a finite number > 0, got {cap}")
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0 = -inf is meant here
        log_target = np.log1p(-momentum) + np.where(k == 0, 0.0, k * np.log(momentum))
        log_ratio = np.where(p > 0, log_target - np.log(p), np.inf)
    table = np.minimum(np.exp(np.minimum(log_ratio, 700.0)), cap)

    def s(tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        t = np.floor(_tau(tau))
        idx = np.minimum(t, table.size - 1).astype(np.int64)
        return np.where(t < table.size, table[idx], cap)

    return s


@dataclass(frozen=True)
class RuleOptions:
    """What a rule is built from; each rule reads the fields it needs.

    ``pmf``: the execution's staleness pmf (TAIL-tau, MindTheStep, cut-off; FLeet without
    ``workers``); ``amplitude`` and ``cdf``: TAIL-tau's ``A`` and ``F``; ``momentum`` and
    ``cap``: MindTheStep's ``K`` (``None``: from the pmf's mean) and cap; ``beta``: the
    exponential rule's dampening; ``workers``: FLeet's ``m``; ``threshold``: Ringmaster's
    ``R`` (``None``: the workers, else ``round(E[tau]) + 1`` from the pmf).
    """

    pmf: PmfLike | None = None
    amplitude: float = 0.5
    cdf: CdfKind = "strict"
    momentum: float | None = None
    cap: float = 10.0
    beta: float = 0.1
    workers: int | None = None
    threshold: int | None = None


@dataclass(frozen=True)
class Rule:
    """A registered rule: ``build(options)`` gives its ``s(tau)``; ``needs_pmf``: it cannot be
    built without the execution's staleness pmf (a real run takes it from its warm-up)."""

    build: Callable[[RuleOptions], StepSize]
    needs_pmf: bool
    summary: str


def _pmf(options: RuleOptions) -> PmfLike:
    if options.pmf is None:
        raise ValueError("this rule needs a staleness pmf")
    return options.pmf


def _fleet(options: RuleOptions) -> StepSize:
    return fleet(workers=_workers_or_pmf(options, "fleet"))


def _workers_or_pmf(options: RuleOptions, rule: str) -> int:
    """``workers``, else ``round(E[tau]) + 1`` from the pmf (the workers that mean delay implies)."""
    if options.workers is not None:
        return options.workers
    if options.pmf is None:
        raise ValueError(f"the {rule} rule needs workers or a pmf")
    p = as_pmf(options.pmf)
    return round(float(np.dot(np.arange(p.size), p))) + 1


def _ringmaster(options: RuleOptions) -> StepSize:
    threshold = options.threshold if options.threshold is not None else _workers_or_pmf(options, "ringmaster")
    return ringmaster(threshold)


#: Rule name -> how it is built. The command line's names; a new rule is one entry here.
RULES: dict[str, Rule] = {
    "constant": Rule(lambda o: constant(), False, "s = 1 (plain AsyncSGD)"),
    "inverse": Rule(lambda o: inverse(), False, "s = 1 / (tau + 1)"),
    "exponential": Rule(lambda o: exponential(o.beta), False, "s = exp(-beta tau)"),
    "fleet": Rule(_fleet, False, "FLeet: exp(-beta tau), beta from m workers"),
    "tail": Rule(
        lambda o: tail_tau(_pmf(o), amplitude=o.amplitude, cdf=o.cdf), True, "TAIL-tau: 1 + A (1 - 2 F(tau))"
    ),
    "mindthestep": Rule(
        lambda o: mindthestep(_pmf(o), momentum=o.momentum, cap=o.cap), True, "(1 - K) K^tau / P(tau)"
    ),
    "cutoff": Rule(lambda o: cutoff(_pmf(o)), True, "1 if tau <= 2 E[tau], else 0"),
    "ringmaster": Rule(_ringmaster, False, "Ringmaster: 1 if tau < R, else 0 (R: --R, default the workers)"),
}
