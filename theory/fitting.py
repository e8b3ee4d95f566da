"""Fit staleness models to observed delays and measure how well they fit.

* Maximum-likelihood estimates: Poisson ``lam_hat = mean(tau)``; geometric on {0, 1, ...}
  ``q_hat = mean / (1 + mean)`` (both closed form, e.g. Casella & Berger, Ch. 7).
* Distances between pmfs on the integers: total variation ``TV = 1/2 sum_k |p_k - r_k|``
  and Wasserstein-1 ``W1 = sum_k |F_p(k) - F_r(k)|`` (``scipy.stats.wasserstein_distance``).
* Goodness of fit: the G-test (likelihood-ratio chi-square, ``scipy.stats.power_divergence``)
  on bins pooled so that every expected count is at least 5, one degree of freedom removed
  for the fitted parameter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from theory.staleness import Empirical, Geometric, Poisson, StalenessModel

__all__ = [
    "FitResult",
    "GoodnessOfFit",
    "fit_geometric",
    "fit_models",
    "fit_poisson",
    "goodness_of_fit",
    "homogeneity",
    "total_variation",
    "wasserstein1",
]

_MIN_EXPECTED = 5.0


def _as_samples(samples: npt.ArrayLike) -> npt.NDArray[np.int64]:
    x = np.asarray(samples)
    if x.size == 0:
        raise ValueError("need at least one staleness sample")
    if not np.all(np.isfinite(x)) or np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("staleness samples must be non-negative integers")
    return x.astype(np.int64)


def fit_poisson(samples: npt.ArrayLike) -> Poisson:
    """MLE of a Poisson model: ``lam_hat = mean(samples)``.

    >>> fit_poisson([1, 2, 3]).lam
    2.0
    """
    return Poisson(float(_as_samples(samples).mean()))


def fit_geometric(samples: npt.ArrayLike) -> Geometric:
    """MLE of a geometric model on {0, 1, ...}: ``q_hat = mean / (1 + mean)``.

    >>> fit_geometric([0, 1, 2]).q
    0.5
    """
    m = float(_as_samples(samples).mean())
    return Geometric(m / (1.0 + m))


def _on_common_support(
    p: StalenessModel, r: StalenessModel, tail_mass: float = 1e-12
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    n = max(p.support_max(tail_mass), r.support_max(tail_mass))
    k = np.arange(n + 1)
    return p.pmf(k), r.pmf(k)


def total_variation(p: StalenessModel, r: StalenessModel) -> float:
    """``TV(p, r) = 1/2 sum_k |p_k - r_k|`` (mass beyond a 1e-12 tail is ignored).

    >>> total_variation(Empirical.from_pmf([1.0]), Empirical.from_pmf([0.5, 0.5]))
    0.5
    """
    a, b = _on_common_support(p, r)
    return float(0.5 * np.abs(a - b).sum())


def wasserstein1(p: StalenessModel, r: StalenessModel) -> float:
    """``W1(p, r) = sum_k |F_p(k) - F_r(k)|``, the earth mover's distance on the integers.

    >>> wasserstein1(Empirical.from_pmf([1.0]), Empirical.from_pmf([0.0, 0.0, 1.0]))
    2.0
    """
    a, b = _on_common_support(p, r)
    k = np.arange(a.size, dtype=np.float64)
    if a.sum() <= 0 or b.sum() <= 0:
        raise ValueError("both distributions need mass on the common support")
    return float(stats.wasserstein_distance(k, k, a, b))


@dataclass(frozen=True)
class GoodnessOfFit:
    """Result of a G-test of observed delays against a model."""

    statistic: float
    p_value: float
    dof: int
    bins: int


def _pooled_bins(counts: npt.NDArray[np.float64]) -> list[int]:
    """Right edges of bins, pooled left to right until each holds >= 5 (expected) counts.

    ``counts`` is one row of counts per value of tau, with one or more columns (samples);
    a bin closes when every column has reached 5. The last bin takes the remainder.
    """
    table = counts.reshape(counts.shape[0], -1)
    edges: list[int] = []
    acc = np.zeros(table.shape[1])
    for k, row in enumerate(table):
        acc += row
        if acc.min() >= _MIN_EXPECTED:
            edges.append(k)
            acc[:] = 0.0
    if not edges:
        edges.append(table.shape[0] - 1)
    edges[-1] = table.shape[0] - 1  # the last bin takes the remainder (and the tail)
    return edges


def _pool(counts: npt.NDArray[Any], edges: list[int]) -> npt.NDArray[Any]:
    """Sum ``counts`` (rows = tau) within the bins ending at ``edges``."""
    starts = [0, *(e + 1 for e in edges[:-1])]
    return np.array([counts[s : e + 1].sum(axis=0) for s, e in zip(starts, edges, strict=True)])


def goodness_of_fit(samples: npt.ArrayLike, model: StalenessModel, fitted_params: int = 1) -> GoodnessOfFit:
    """G-test of ``samples`` against ``model``; small p-values reject the model."""
    x = _as_samples(samples)
    n = x.size
    top = int(max(x.max(), model.support_max(1e-12)))
    observed = np.bincount(x, minlength=top + 1).astype(np.float64)
    probs = model.pmf(np.arange(top + 1))
    probs[-1] += max(0.0, 1.0 - probs.sum())  # tail mass joins the last bin
    expected = probs * n
    edges = _pooled_bins(expected)
    obs, exp = _pool(observed, edges), _pool(expected, edges)
    exp *= obs.sum() / exp.sum()
    dof = len(edges) - 1 - fitted_params
    if dof < 1:
        return GoodnessOfFit(statistic=0.0, p_value=1.0, dof=0, bins=len(edges))
    res = stats.power_divergence(obs, exp, ddof=fitted_params, lambda_="log-likelihood")
    return GoodnessOfFit(float(res.statistic), float(res.pvalue), dof, len(edges))


def homogeneity(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[float, float]:
    """G-test that two staleness samples come from one distribution: ``(G, p-value)``.

    The two histograms are pooled into bins holding >= 5 counts of each sample (as in
    :func:`goodness_of_fit`) and tested as a 2-column contingency table
    (``scipy.stats.chi2_contingency`` with the log-likelihood ratio). Fewer than two bins
    leave nothing to test: ``(0, 1)``.

    >>> homogeneity([0, 1] * 50, [0, 1] * 50)
    (0.0, 1.0)
    """
    x, y = _as_samples(a), _as_samples(b)
    top = int(max(x.max(), y.max()))
    counts = np.column_stack([np.bincount(x, minlength=top + 1), np.bincount(y, minlength=top + 1)])
    edges = _pooled_bins(counts.astype(np.float64))
    if len(edges) < 2:
        return 0.0, 1.0
    g, p, _, _ = stats.chi2_contingency(_pool(counts, edges), lambda_="log-likelihood")
    return float(g), float(p)


@dataclass(frozen=True)
class FitResult:
    """A fitted model with its distances to the empirical pmf and its G-test."""

    model: str
    params: dict[str, float]
    tv: float
    w1: float
    g_statistic: float
    p_value: float
    dof: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def fit_models(samples: npt.ArrayLike) -> list[FitResult]:
    """Fit Poisson and geometric models to ``samples`` and compare each with the data."""
    x = _as_samples(samples)
    empirical = Empirical.from_samples(x)
    results = []
    for model in (fit_poisson(x), fit_geometric(x)):
        gof = goodness_of_fit(x, model)
        results.append(
            FitResult(
                model=model.name,
                params=model.params(),
                tv=total_variation(empirical, model),
                w1=wasserstein1(empirical, model),
                g_statistic=gof.statistic,
                p_value=gof.p_value,
                dof=gof.dof,
            )
        )
    return results
