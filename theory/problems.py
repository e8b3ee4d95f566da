"""Test problems with known constants: quadratics and least squares.

A :class:`Quadratic` is ``f(x) = 1/2 (x - x*)^T A (x - x*) + f*`` with symmetric positive
semi-definite ``A``: it is ``L``-smooth with ``L = lambda_max(A)`` and satisfies the PL
condition with ``mu = lambda_min(A)``. Stochastic gradients add isotropic Gaussian noise of
total variance ``sigma2``: ``g = A (x - x*) + xi``, ``E ||xi||^2 = sigma2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["KNOWN_PROBLEMS", "Quadratic", "known_problem", "least_squares", "random_quadratic"]

#: Names of :func:`known_problem`'s problems.
KNOWN_PROBLEMS = ("quadratic", "lstsq")


@dataclass(frozen=True, eq=False)
class Quadratic:
    """``f(x) = 1/2 (x - x*)^T A (x - x*) + f_star`` with gradient noise of variance ``sigma2``."""

    a: npt.NDArray[np.float64]
    x_star: npt.NDArray[np.float64]
    sigma2: float = 0.0
    f_star: float = 0.0

    def __post_init__(self) -> None:
        a = np.asarray(self.a, dtype=np.float64)
        if a.ndim != 2 or a.shape[0] != a.shape[1] or not np.allclose(a, a.T):
            raise ValueError("A must be a symmetric square matrix")
        if np.asarray(self.x_star).shape != (a.shape[0],):
            raise ValueError("x_star must have the dimension of A")
        if not (np.isfinite(self.sigma2) and self.sigma2 >= 0):
            raise ValueError(f"sigma2 must be a finite number >= 0, got {self.sigma2}")
        eig = np.linalg.eigvalsh(a)
        if eig[0] < -1e-10 * max(1.0, eig[-1]):
            raise ValueError("A must be positive semi-definite")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "x_star", np.asarray(self.x_star, dtype=np.float64))
        object.__setattr__(self, "_eig", eig)

    @property
    def dim(self) -> int:
        return int(self.a.shape[0])

    @property
    def lsmooth(self) -> float:
        """Smoothness ``L = lambda_max(A)``."""
        return float(self._eig[-1])  # type: ignore[attr-defined]

    @property
    def mu(self) -> float:
        """PL / strong-convexity constant ``mu = lambda_min(A)``."""
        return float(max(self._eig[0], 0.0))  # type: ignore[attr-defined]

    def value(self, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``f(x)`` for ``x`` of shape ``(..., dim)``."""
        d = np.asarray(x, dtype=np.float64) - self.x_star
        return 0.5 * np.einsum("...i,ij,...j->...", d, self.a, d) + self.f_star

    def gradient(self, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``grad f(x) = A (x - x*)`` for ``x`` of shape ``(..., dim)``."""
        return (np.asarray(x, dtype=np.float64) - self.x_star) @ self.a

    def noise(self, rng: np.random.Generator, shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
        """Isotropic Gaussian gradient noise of shape ``(*shape, dim)``, ``E||xi||^2 = sigma2``."""
        scale = np.sqrt(self.sigma2 / self.dim)
        return rng.standard_normal((*shape, self.dim)) * scale


def random_quadratic(
    rng: np.random.Generator, dim: int, lsmooth: float, mu: float, sigma2: float
) -> Quadratic:
    """A quadratic with eigenvalues spread in ``[mu, L]`` (both attained), a random
    rotation (``scipy.stats.ortho_group``) and a random minimizer."""
    if dim < 2:
        raise ValueError(f"dim must be >= 2, got {dim}")
    if not 0 < mu <= lsmooth:
        raise ValueError(f"need 0 < mu <= L, got mu={mu}, L={lsmooth}")
    eig = np.concatenate([[mu, lsmooth], rng.uniform(mu, lsmooth, size=dim - 2)])
    from scipy import stats  # a second's import: only when a quadratic is drawn

    q = stats.ortho_group.rvs(dim, random_state=rng)
    a = (q * eig) @ q.T
    return Quadratic(0.5 * (a + a.T), rng.standard_normal(dim).astype(np.float64), sigma2)


def least_squares(x: npt.ArrayLike, y: npt.ArrayLike, sigma2: float = 0.0) -> Quadratic:
    """``f(w) = 1/(2n) ||X w - y||^2`` as a :class:`Quadratic` (``A = X^T X / n``)."""
    xm = np.asarray(x, dtype=np.float64)
    yv = np.asarray(y, dtype=np.float64)
    if xm.ndim != 2 or yv.shape != (xm.shape[0],):
        raise ValueError("X must be (n, d) and y must be (n,)")
    n = xm.shape[0]
    w_star, *_ = np.linalg.lstsq(xm, yv, rcond=None)
    residual = xm @ w_star - yv
    return Quadratic(xm.T @ xm / n, w_star.astype(np.float64), sigma2, float(residual @ residual / (2 * n)))


def known_problem(name: str, rng: np.random.Generator, dim: int = 20) -> Quadratic:
    """A problem with known constants, for SGD under simulated or measured delays:
    ``quadratic`` (L = 1, mu = 0.01, sigma2 = 0.1) or ``lstsq`` (least squares on 200
    Gaussian rows, sigma2 = 0.1).

    >>> round(known_problem("quadratic", np.random.default_rng(0)).lsmooth, 12)
    1.0
    """
    if name == "quadratic":
        return random_quadratic(rng, dim=dim, lsmooth=1.0, mu=0.01, sigma2=0.1)
    if name == "lstsq":
        x = rng.standard_normal((200, dim))
        y = x @ rng.standard_normal(dim) + 0.1 * rng.standard_normal(200)
        return least_squares(x, y, sigma2=0.1)
    raise ValueError(f"problem must be one of {', '.join(KNOWN_PROBLEMS)}, got {name!r}")
