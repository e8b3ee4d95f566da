"""Staleness models: discrete distributions of the delay tau on {0, 1, 2, ...}.

Three models share one interface (:class:`StalenessModel`):

* :class:`Poisson` -- ``P(tau = k) = exp(-lam) lam^k / k!``. For ``m`` equally fast,
  CPU-bound workers the number of updates published while one gradient is computed is
  close to Poisson with ``lam = m - 1`` (Backstrom et al., MindTheStep-AsyncPSGD, IEEE
  BigData 2019).
* :class:`Geometric` -- ``P(tau = k) = (1 - q) q^k``. With exponential compute times
  the staleness of ``m`` workers is geometric with ``q = 1 - 1/m``; asynchrony then acts
  as momentum ``1 - 1/m`` (Mitliagkas et al., "Asynchrony begets momentum", 2016).
* :class:`Empirical` -- the normalized histogram of observed delays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from scipy import special

__all__ = [
    "Empirical",
    "Geometric",
    "PmfLike",
    "Poisson",
    "StalenessModel",
    "as_pmf",
    "geometric_for_workers",
    "poisson_for_workers",
    "truncated_pmf",
]

#: Probability mass left out when an unbounded model is cut to a finite support.
DEFAULT_TAIL_MASS = 1e-9


@runtime_checkable
class StalenessModel(Protocol):
    """A distribution of the staleness tau over the non-negative integers.

    It follows scipy's frozen distributions (:class:`theory.distribution.Distribution`):
    ``pmf``, ``cdf``, ``mean()``, ``var()`` and ``rvs(size, random_state)``.
    """

    @property
    def name(self) -> str:
        """Short model name, e.g. ``"poisson"``."""
        ...

    def pmf(self, tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Return ``P(tau' = tau)``."""
        ...

    def cdf(self, tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Return ``P(tau' <= tau)``."""
        ...

    def mean(self) -> float:
        """``E[tau]``."""
        ...

    def var(self) -> float:
        """``Var[tau]``."""
        ...

    def rvs(self, size: int | tuple[int, ...], random_state: np.random.Generator) -> npt.NDArray[np.int64]:
        """Draw ``size`` delays using ``random_state``."""
        ...

    def support_max(self, tail_mass: float = DEFAULT_TAIL_MASS) -> int:
        """Smallest ``N`` with ``P(tau > N) <= tail_mass``."""
        ...

    def params(self) -> dict[str, float]:
        """Parameters by name, for reports."""
        ...


def _check_tail_mass(tail_mass: float) -> None:
    if not 0.0 <= tail_mass < 1.0:
        raise ValueError(f"tail_mass must be in [0, 1), got {tail_mass}")


def _integer_support(tau: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """``tau`` as floats, and where it is a non-negative integer (where a pmf can be > 0)."""
    t = np.asarray(tau, dtype=np.float64)
    return t, (t >= 0) & (t == np.floor(t))


def _smallest_with_survival_at_most(
    sf: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]], tail_mass: float, start: float
) -> int:
    """Smallest integer ``N >= 0`` with ``sf(N) <= tail_mass``, searching upwards in blocks."""
    lo = 0
    width = max(64, int(start))
    while True:
        k = np.arange(lo, lo + width, dtype=np.float64)
        hit = np.flatnonzero(sf(k) <= tail_mass)
        if hit.size:
            return int(lo + hit[0])
        lo, width = lo + width, width * 2


@dataclass(frozen=True)
class Poisson:
    """Poisson staleness, ``P(tau = k) = exp(-lam) lam^k / k!``, mean = var = ``lam``.

    The same numbers as ``scipy.stats.poisson(lam)`` (``pmf``, ``cdf``, ``rvs``), computed
    with ``scipy.special`` so that a command evaluating a rule starts quickly.

    >>> round(float(Poisson(7.0).mean()), 6)
    7.0
    """

    lam: float
    name: str = field(default="poisson", init=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.lam) and self.lam >= 0.0):
            raise ValueError(f"poisson lambda must be a finite number >= 0, got {self.lam}")

    def pmf(self, tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        t, ok = _integer_support(tau)
        k = np.where(ok, t, 0.0)
        return np.where(ok, np.exp(special.xlogy(k, self.lam) - special.gammaln(k + 1) - self.lam), 0.0)

    def cdf(self, tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        t = np.floor(np.asarray(tau, dtype=np.float64))
        return np.where(t >= 0, special.pdtr(np.maximum(t, 0.0), self.lam), 0.0)

    def rvs(self, size: int | tuple[int, ...], random_state: np.random.Generator) -> npt.NDArray[np.int64]:
        return np.asarray(random_state.poisson(self.lam, size), dtype=np.int64)

    def mean(self) -> float:
        return self.lam

    def var(self) -> float:
        return self.lam

    def support_max(self, tail_mass: float = DEFAULT_TAIL_MASS) -> int:
        """Smallest ``N`` with ``P(tau > N) <= tail_mass`` (``scipy.special.pdtrc``)."""
        _check_tail_mass(tail_mass)
        if self.lam == 0.0:
            return 0
        if tail_mass == 0.0:
            raise ValueError("an unbounded model needs tail_mass > 0")
        return _smallest_with_survival_at_most(
            lambda k: special.pdtrc(k, self.lam), tail_mass, self.lam + 10 * np.sqrt(self.lam)
        )

    def params(self) -> dict[str, float]:
        return {"lambda": self.lam}


@dataclass(frozen=True)
class Geometric:
    """Geometric staleness on {0, 1, ...}: ``P(tau = k) = (1 - q) q^k``, mean ``q/(1-q)``.

    >>> Geometric(0.5).pmf([0, 1, 2]).tolist()
    [0.5, 0.25, 0.125]
    """

    q: float
    name: str = field(default="geometric", init=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.q) and 0.0 <= self.q < 1.0):
            raise ValueError(f"geometric q must be in [0, 1), got {self.q}")

    def pmf(self, tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        t, ok = _integer_support(tau)
        return np.where(ok, (1.0 - self.q) * np.power(self.q, np.where(ok, t, 0.0)), 0.0)

    def cdf(self, tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``P(tau' <= tau) = 1 - q^(floor(tau) + 1)``."""
        t = np.floor(np.asarray(tau, dtype=np.float64))
        with np.errstate(divide="ignore"):  # q = 0: log q = -inf, and the cdf is 1 from tau = 0
            return np.where(t >= 0, -np.expm1((np.maximum(t, 0.0) + 1.0) * np.log(self.q)), 0.0)

    def rvs(self, size: int | tuple[int, ...], random_state: np.random.Generator) -> npt.NDArray[np.int64]:
        """Failures before the first success (numpy counts trials, hence the ``- 1``)."""
        return np.asarray(random_state.geometric(1.0 - self.q, size), dtype=np.int64) - 1

    def mean(self) -> float:
        return self.q / (1.0 - self.q)

    def var(self) -> float:
        return self.q / (1.0 - self.q) ** 2

    def support_max(self, tail_mass: float = DEFAULT_TAIL_MASS) -> int:
        """``P(tau > N) = q^(N+1) <= tail_mass`` gives ``N = ceil(ln(tail)/ln(q)) - 1``."""
        _check_tail_mass(tail_mass)
        if tail_mass == 0.0:
            raise ValueError("an unbounded model needs tail_mass > 0")
        if self.q == 0.0:
            return 0
        return max(0, int(np.ceil(np.log(tail_mass) / np.log(self.q) - 1e-9)) - 1)

    def params(self) -> dict[str, float]:
        return {"q": self.q}


@dataclass(frozen=True, eq=False)
class Empirical:
    """Empirical staleness: ``probs[k] = P(tau = k)`` for ``k = 0 .. len(probs) - 1``.

    >>> Empirical.from_samples([0, 1, 1, 3]).probs.tolist()
    [0.25, 0.5, 0.0, 0.25]
    """

    probs: npt.NDArray[np.float64]
    name: str = field(default="empirical", init=False)

    def __post_init__(self) -> None:
        p = np.asarray(self.probs, dtype=np.float64)
        if p.ndim != 1 or p.size == 0:
            raise ValueError("pmf must be a non-empty 1-D array")
        if not np.all(np.isfinite(p)) or np.any(p < 0):
            raise ValueError("pmf entries must be finite and >= 0")
        if abs(p.sum() - 1.0) > 1e-9:
            raise ValueError(f"pmf must sum to 1 (within 1e-9), sums to {p.sum():.12g}")
        object.__setattr__(self, "probs", p)

    @classmethod
    def from_samples(cls, samples: npt.ArrayLike) -> Empirical:
        """Build the normalized histogram of non-negative integer delays."""
        x = np.asarray(samples)
        if x.size == 0:
            raise ValueError("need at least one staleness sample")
        if not np.all(np.isfinite(x)) or np.any(x < 0) or np.any(x != np.round(x)):
            raise ValueError("staleness samples must be non-negative integers")
        counts = np.bincount(x.astype(np.int64))
        return cls(counts / counts.sum())

    @classmethod
    def from_pmf(cls, probs: Sequence[float] | npt.ArrayLike) -> Empirical:
        """Build from probabilities of ``tau = 0, 1, ...``."""
        return cls(np.asarray(probs, dtype=np.float64))

    def pmf(self, tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        t = np.asarray(tau)
        inside = (t >= 0) & (t < self.probs.size) & (t == np.floor(t))
        idx = np.where(inside, t, 0).astype(np.int64)
        return np.where(inside, self.probs[idx], 0.0)

    def cdf(self, tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        cum = np.cumsum(self.probs)
        t = np.floor(np.asarray(tau, dtype=np.float64))
        idx = np.clip(t, 0, self.probs.size - 1).astype(np.int64)
        return np.where(t < 0, 0.0, np.minimum(cum[idx], 1.0))

    def mean(self) -> float:
        return float(np.dot(np.arange(self.probs.size), self.probs))

    def var(self) -> float:
        k = np.arange(self.probs.size)
        return float(np.dot((k - self.mean()) ** 2, self.probs))

    def rvs(self, size: int | tuple[int, ...], random_state: np.random.Generator) -> npt.NDArray[np.int64]:
        return random_state.choice(self.probs.size, size=size, p=self.probs).astype(np.int64)

    def support_max(self, tail_mass: float = DEFAULT_TAIL_MASS) -> int:
        _check_tail_mass(tail_mass)
        survival = 1.0 - np.cumsum(self.probs)
        return int(np.argmax(survival <= tail_mass + 1e-15))

    def params(self) -> dict[str, float]:
        return {"mean": self.mean(), "var": self.var(), "support_max": float(self.probs.size - 1)}


def poisson_for_workers(workers: int) -> Poisson:
    """Poisson staleness of ``m`` equally fast workers: ``lam = m - 1``."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return Poisson(float(workers - 1))


def geometric_for_workers(workers: int) -> Geometric:
    """Geometric staleness of ``m`` workers with exponential compute times: ``q = 1 - 1/m``."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return Geometric(1.0 - 1.0 / workers)


def truncated_pmf(
    model: StalenessModel, tau_max: int | None = None, tail_mass: float = DEFAULT_TAIL_MASS
) -> npt.NDArray[np.float64]:
    """Return ``P(tau = 0..N)`` renormalized to sum to 1, ``N = tau_max`` or the model's cut."""
    n = model.support_max(tail_mass) if tau_max is None else int(tau_max)
    if n < 0:
        raise ValueError(f"tau_max must be >= 0, got {n}")
    p = model.pmf(np.arange(n + 1))
    total = p.sum()
    if total <= 0:
        raise ValueError("the model puts no mass on 0..tau_max")
    return p / total


PmfLike = StalenessModel | Sequence[float] | npt.NDArray[np.float64]


def as_pmf(pmf: PmfLike) -> npt.NDArray[np.float64]:
    """Return ``P(tau = 0..N)`` as a validated array; models are cut at a 1e-9 tail."""
    if isinstance(pmf, StalenessModel):
        return truncated_pmf(pmf)
    return Empirical.from_pmf(np.asarray(pmf, dtype=np.float64)).probs
