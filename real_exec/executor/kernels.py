"""Gradient, copy and update kernels compiled with ``numba.njit(nogil=True, cache=True)``.

They release the GIL, so Python threads that call them run in parallel; matrix products
go through ``np.dot`` (BLAS, kept single-threaded by the runner). Mini-batches are drawn
with numba's per-thread random generator, seeded per worker by :func:`seed_thread`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = [
    "axpy",
    "axpy_copy",
    "copy_into",
    "descend",
    "heavy_ball",
    "logreg_grad",
    "logreg_kernel",
    "logreg_loss",
    "logreg_sparse_grad",
    "logreg_sparse_kernel",
    "lstsq_grad",
    "lstsq_kernel",
    "quadratic_grad",
    "quadratic_kernel",
    "seed_thread",
    "subtract_scaled",
]


@njit(nogil=True, cache=True)
def seed_thread(seed: int) -> None:
    """Seed the calling thread's numba random generator."""
    np.random.seed(seed)


@njit(nogil=True, cache=True)
def copy_into(dst: Any, src: Any) -> None:
    """``dst[:] = src``."""
    for i in range(dst.size):
        dst[i] = src[i]


@njit(nogil=True, cache=True)
def axpy(y: Any, a: float, x: Any) -> None:
    """``y += a * x`` in place."""
    for i in range(y.size):
        y[i] += a * x[i]


@njit(nogil=True, cache=True)
def axpy_copy(y: Any, a: float, x: Any, out: Any) -> None:
    """``y += a * x`` in place and ``out[:] = y``, in one pass over the vectors."""
    for i in range(y.size):
        v = y[i] + a * x[i]
        y[i] = v
        out[i] = v


@njit(nogil=True, cache=True)
def descend(params: Any, eta: float, s: float, g: Any) -> None:
    """``params -= eta * (s * g)`` in place: one SGD step of size ``eta`` scaled by ``s``."""
    for i in range(params.size):
        params[i] -= eta * (s * g[i])


@njit(nogil=True, cache=True)
def heavy_ball(velocity: Any, g: Any, beta: float) -> None:
    """Heavy-ball momentum (Polyak 1964): ``v = beta v + g``, then ``g[:] = v`` (the update
    direction replaces the gradient)."""
    for i in range(g.size):
        velocity[i] = beta * velocity[i] + g[i]
        g[i] = velocity[i]


@njit(nogil=True, cache=True)
def subtract_scaled(out: Any, base: Any, a: float, g: Any) -> None:
    """``out[:] = base - a * g`` (Leashed-SGD builds its new vector this way)."""
    for i in range(out.size):
        out[i] = base[i] - a * g[i]


@njit(nogil=True, cache=True)
def quadratic_grad(x: Any, out: Any, a: Any, x_star: Any, noise_std: float) -> None:
    """``out = A (x - x*) + xi``, ``xi ~ N(0, noise_std^2 I)``."""
    d = x - x_star
    g = np.dot(a, d)
    for i in range(out.size):
        out[i] = g[i] + noise_std * np.random.standard_normal()


@njit(nogil=True, cache=True)
def lstsq_grad(w: Any, out: Any, x: Any, y: Any, batch: int) -> None:
    """Mini-batch gradient of ``1/(2n) ||X w - y||^2``: ``X_B^T (X_B w - y_B) / B``."""
    idx = np.random.randint(0, x.shape[0], batch)
    xb = x[idx]
    r = np.dot(xb, w) - y[idx]
    g = np.dot(xb.T, r) / batch
    for i in range(out.size):
        out[i] = g[i]


@njit(nogil=True, cache=True)
def _sigmoid(z: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-z))


@njit(nogil=True, cache=True)
def logreg_grad(w: Any, out: Any, x: Any, y: Any, batch: int, l2: float) -> None:
    """Mini-batch gradient of the l2-regularized logistic loss, labels in {0, 1}."""
    idx = np.random.randint(0, x.shape[0], batch)
    xb = x[idx]
    r = _sigmoid(np.dot(xb, w)) - y[idx]
    g = np.dot(xb.T, r) / batch
    for i in range(out.size):
        out[i] = g[i] + l2 * w[i]


@njit(nogil=True, cache=True)
def logreg_sparse_grad(
    w: Any, out: Any, data: Any, indices: Any, indptr: Any, y: Any, batch: int, l2: float
) -> None:
    """The same for a CSR matrix ``(data, indices, indptr)``."""
    for i in range(out.size):
        out[i] = l2 * w[i]
    n = indptr.size - 1
    for _ in range(batch):
        row = np.random.randint(0, n)
        z = 0.0
        for k in range(indptr[row], indptr[row + 1]):
            z += data[k] * w[indices[k]]
        r = 1.0 / (1.0 + np.exp(-z)) - y[row]
        for k in range(indptr[row], indptr[row + 1]):
            out[indices[k]] += r * data[k] / batch


@njit(nogil=True, cache=True)
def logreg_loss(w: Any, x: Any, y: Any) -> tuple[float, float]:
    """Mean logistic loss and accuracy on ``(x, y)``."""
    z = np.dot(x, w)
    loss = 0.0
    correct = 0
    for i in range(z.size):
        loss += np.log1p(np.exp(-abs(z[i]))) + max(z[i], 0.0) - y[i] * z[i]
        correct += (z[i] > 0) == (y[i] > 0.5)
    return loss / z.size, correct / z.size


# The same gradients as problem kernels: ``kernel(params, out, data, workspace)`` with the
# problem's data as one tuple (see :class:`real_exec.executor.problems.Problem`).


@njit(nogil=True, cache=True)
def quadratic_kernel(x: Any, out: Any, data: Any, ws: Any) -> None:
    a, x_star, noise_std = data
    quadratic_grad(x, out, a, x_star, noise_std)


@njit(nogil=True, cache=True)
def lstsq_kernel(w: Any, out: Any, data: Any, ws: Any) -> None:
    x, y, batch = data
    lstsq_grad(w, out, x, y, batch)


@njit(nogil=True, cache=True)
def logreg_kernel(w: Any, out: Any, data: Any, ws: Any) -> None:
    x, y, batch, l2 = data
    logreg_grad(w, out, x, y, batch, l2)


@njit(nogil=True, cache=True)
def logreg_sparse_kernel(w: Any, out: Any, data: Any, ws: Any) -> None:
    values, indices, indptr, y, batch, l2 = data
    logreg_sparse_grad(w, out, values, indices, indptr, y, batch, l2)
