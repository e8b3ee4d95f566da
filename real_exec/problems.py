"""Problems for real runs: a flat parameter vector, a nogil gradient kernel, an evaluation.

* ``quadratic``: ``1/2 (x - x*)^T A (x - x*)`` with known ``L``, ``mu``, ``x*`` and Gaussian
  gradient noise (``theory.random_quadratic``).
* ``lstsq``: least squares on locally generated Gaussian data, mini-batch gradients.
* ``logreg`` / ``logreg-sparse``: l2-regularized logistic regression on generated data
  (dense, or a CSR matrix with 1% non-zeros).
* ``digits-mlp``: a ReLU MLP on scikit-learn's bundled 8x8 digits (1,797 images, 10 classes),
  standardized, 80/20 train/test split.
* ``mlp-784``: a ReLU MLP on synthetic data of MNIST's shape (784 inputs, 10 classes), for
  throughput measurements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from real_exec import kernels
from theory.problems import random_quadratic

__all__ = ["PROBLEMS", "Problem", "make_problem"]

PROBLEMS = ("quadratic", "lstsq", "logreg", "logreg-sparse", "digits-mlp", "mlp-784")


@dataclass(frozen=True, eq=False)
class Problem:
    """A problem a worker thread can train: ``grad(params, out)`` releases the GIL."""

    name: str
    dim: int
    dtype: np.dtype[Any]
    grad: Callable[[npt.NDArray[Any], npt.NDArray[Any]], None]
    evaluate: Callable[[npt.NDArray[Any]], dict[str, float]]
    init: Callable[[np.random.Generator], npt.NDArray[Any]]
    classification: bool = False
    info: dict[str, Any] = field(default_factory=dict)


def _split(rng: np.random.Generator, x: Any, y: Any, test: float = 0.2) -> tuple[Any, Any, Any, Any]:
    order = rng.permutation(x.shape[0])
    cut = int(x.shape[0] * (1 - test))
    tr, te = order[:cut], order[cut:]
    return x[tr], y[tr], x[te], y[te]


def _quadratic(rng: np.random.Generator, dtype: Any, **_: Any) -> Problem:
    q = random_quadratic(rng, dim=50, lsmooth=1.0, mu=0.05, sigma2=0.5)
    a, xs = q.a.astype(dtype), q.x_star.astype(dtype)
    noise = float(np.sqrt(q.sigma2 / q.dim))
    return Problem(
        "quadratic",
        q.dim,
        np.dtype(dtype),
        grad=lambda p, out: kernels.quadratic_grad(p, out, a, xs, noise),
        evaluate=lambda p: {"loss": float(q.value(p.astype(np.float64)) - q.f_star)},
        init=lambda r: (xs + r.standard_normal(q.dim)).astype(dtype),
        info={"L": q.lsmooth, "mu": q.mu, "sigma2": q.sigma2},
    )


def _lstsq(rng: np.random.Generator, dtype: Any, batch: int, **_: Any) -> Problem:
    n, d = 4000, 50
    x = rng.standard_normal((n, d)).astype(dtype)
    y = (x @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)).astype(dtype)
    w_star = np.linalg.lstsq(x.astype(np.float64), y.astype(np.float64), rcond=None)[0]
    f_star = float(np.mean((x @ w_star - y) ** 2) / 2)

    def evaluate(p: Any) -> dict[str, float]:
        return {"loss": float(np.mean((x @ p - y) ** 2) / 2 - f_star)}

    return Problem(
        "lstsq",
        d,
        np.dtype(dtype),
        grad=lambda p, out: kernels.lstsq_grad(p, out, x, y, batch),
        evaluate=evaluate,
        init=lambda r: np.zeros(d, dtype=dtype),
    )


def _logreg(rng: np.random.Generator, dtype: Any, batch: int, sparse: bool = False, **_: Any) -> Problem:
    n, d, l2 = 20000, 200, 1e-4
    w_true = rng.standard_normal(d)
    if sparse:
        from scipy import sparse as sp

        mat = sp.random(n, d, density=0.05, format="csr", random_state=rng, dtype=np.float64) * 3.0
        z = mat @ w_true
        y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(dtype)
        data, indices, indptr = (
            mat.data.astype(dtype),
            mat.indices.astype(np.int64),
            mat.indptr.astype(np.int64),
        )
        dense = mat.toarray().astype(dtype)

        def grad(p: Any, out: Any) -> None:
            kernels.logreg_sparse_grad(p, out, data, indices, indptr, y, batch, l2)
    else:
        dense = (rng.standard_normal((n, d)) / np.sqrt(d) * 3).astype(dtype)
        y = (rng.random(n) < 1 / (1 + np.exp(-(dense @ w_true)))).astype(dtype)

        def grad(p: Any, out: Any) -> None:
            kernels.logreg_grad(p, out, dense, y, batch, l2)

    x_tr, y_tr, x_te, y_te = _split(rng, dense, y)

    def evaluate(p: Any) -> dict[str, float]:
        loss, _ = kernels.logreg_loss(p, x_tr, y_tr)
        _, acc = kernels.logreg_loss(p, x_te, y_te)
        return {"loss": float(loss), "accuracy": float(acc)}

    name = "logreg-sparse" if sparse else "logreg"
    return Problem(
        name,
        d,
        np.dtype(dtype),
        grad=grad,
        evaluate=evaluate,
        init=lambda r: np.zeros(d, dtype=dtype),
        classification=True,
    )


def _mlp(
    name: str, x: Any, y: Any, rng: np.random.Generator, dtype: Any, batch: int, hidden: tuple[int, ...]
) -> Problem:
    x_tr, y_tr, x_te, y_te = _split(rng, x.astype(dtype), y.astype(np.int64))
    sizes = np.array([x.shape[1], *hidden, int(y.max()) + 1], dtype=np.int64)
    dim = int(sum(sizes[i] * sizes[i + 1] + sizes[i + 1] for i in range(sizes.size - 1)))
    eval_tr = slice(0, min(2000, x_tr.shape[0]))

    def init(r: np.random.Generator) -> Any:
        parts = []
        for i in range(sizes.size - 1):  # He initialization, zero biases
            parts.append(r.standard_normal(sizes[i] * sizes[i + 1]) * np.sqrt(2.0 / sizes[i]))
            parts.append(np.zeros(sizes[i + 1]))
        return np.concatenate(parts).astype(dtype)

    def evaluate(p: Any) -> dict[str, float]:
        loss, _ = kernels.mlp_loss_acc(p, x_tr[eval_tr], y_tr[eval_tr], sizes)
        _, acc = kernels.mlp_loss_acc(p, x_te, y_te, sizes)
        return {"loss": float(loss), "accuracy": float(acc)}

    return Problem(
        name,
        dim,
        np.dtype(dtype),
        grad=lambda p, out: kernels.mlp_grad(p, out, x_tr, y_tr, sizes, batch),
        evaluate=evaluate,
        init=init,
        classification=True,
        info={"sizes": sizes.tolist()},
    )


def _digits(rng: np.random.Generator, dtype: Any, batch: int, hidden: tuple[int, ...], **_: Any) -> Problem:
    from sklearn.datasets import load_digits

    data = load_digits()
    x = data.data - data.data.mean(axis=0)
    x /= x.std(axis=0) + 1e-8
    return _mlp("digits-mlp", x, data.target, rng, dtype, batch, hidden)


def _mlp784(rng: np.random.Generator, dtype: Any, batch: int, hidden: tuple[int, ...], **_: Any) -> Problem:
    n, classes = 10000, 10
    centers = rng.standard_normal((classes, 784))
    y = rng.integers(0, classes, n)
    x = centers[y] + 3.0 * rng.standard_normal((n, 784))
    return _mlp("mlp-784", x, y, rng, dtype, batch, hidden)


def make_problem(
    name: str,
    rng: np.random.Generator,
    *,
    batch: int = 32,
    hidden: tuple[int, ...] = (128,),
    dtype: str = "float64",
) -> Problem:
    """Build problem ``name`` (one of :data:`PROBLEMS`) with data generated from ``rng``."""
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    if not hidden or any(h < 1 for h in hidden):
        raise ValueError(f"hidden layer sizes must be >= 1, got {hidden}")
    dt = np.float32 if dtype == "float32" else np.float64
    builders: dict[str, Callable[..., Problem]] = {
        "quadratic": _quadratic,
        "lstsq": _lstsq,
        "logreg": _logreg,
        "logreg-sparse": partial(_logreg, sparse=True),
        "digits-mlp": _digits,
        "mlp-784": _mlp784,
    }
    if name not in builders:
        raise ValueError(f"problem must be one of {', '.join(PROBLEMS)}, got {name!r}")
    return builders[name](rng, dt, batch=batch, hidden=hidden)
