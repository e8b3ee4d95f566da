"""Problems for real runs: a flat parameter vector, a nogil gradient kernel, an evaluation.

* ``quadratic``: ``1/2 (x - x*)^T A (x - x*)`` with known ``L``, ``mu``, ``x*`` and Gaussian
  gradient noise (``theory.random_quadratic``).
* ``lstsq``: least squares on locally generated Gaussian data, mini-batch gradients.
* ``logreg`` / ``logreg-sparse``: l2-regularized logistic regression on generated data
  (dense, or a CSR matrix with 5% non-zeros).
* ``digits-mlp``: a ReLU MLP on scikit-learn's bundled 8x8 digits (1,797 images, 10 classes),
  standardized, 80/20 train/test split (``make_workload("mlp", "digits")``).
* ``mlp-784``: a ReLU MLP on synthetic data of MNIST's shape (784 inputs, 10 classes), for
  throughput measurements (``make_workload("mlp", "synthetic")``).

:func:`make_workload` builds the papers' workloads: a model of :mod:`real_exec.executor.models.networks`
(``mlp``, ``lenet``, ``cnn``, ``logreg``) on a data set of :mod:`real_exec.executor.data.datasets`
(``fashion-mnist``, ``mnist``, ``cifar10``, ``digits``, ``synthetic``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from real_exec.executor import kernels
from real_exec.executor.data.datasets import load_dataset, train_test_split
from real_exec.executor.models.layers import FLOAT_SIZE, INT_SIZE, net_kernel, net_loss_acc, plan
from real_exec.executor.models.networks import build_network
from theory.problems import random_quadratic

__all__ = ["ALIASES", "PROBLEMS", "Problem", "make_problem", "make_workload", "problem_from_options"]

PROBLEMS = ("quadratic", "lstsq", "logreg", "logreg-sparse", "digits-mlp", "mlp-784")
#: Problem names that are workloads: name -> (model, dataset).
ALIASES = {"digits-mlp": ("mlp", "digits"), "mlp-784": ("mlp", "synthetic")}
#: Samples of the fixed subsets that the loss curve is evaluated on while a run goes on (the
#: whole test set is evaluated once, at the end).
CURVE_TRAIN_SAMPLES, CURVE_TEST_SAMPLES = 500, 1000


def _no_workspace() -> tuple[Any, ...]:
    return (np.empty(0),)


@dataclass(frozen=True, eq=False)
class Problem:
    """A problem a worker thread can train: a compiled gradient kernel and its data.

    ``kernel(params, out, data, workspace)`` is a ``numba.njit(nogil=True)`` function that
    writes a stochastic gradient at ``params`` into ``out``; the worker loops call it from
    compiled code, with this problem's ``data`` (a tuple of arrays and numbers, shared by the
    threads) and a ``workspace()`` of their own (a tuple of scratch arrays). Mini-batches
    come from numba's per-thread random generator. :meth:`grad` calls it from Python.

    ``evaluate`` is cheap enough for the loss curve (a fixed training subset's ``loss``, and
    for classifiers ``accuracy`` on a fixed test subset); ``evaluate_final`` (default
    ``evaluate``) is the end-of-run evaluation, on the whole test set. ``samples`` and
    ``batch`` give an epoch: ``ceil(samples / batch)`` gradients.
    """

    name: str
    dim: int
    dtype: np.dtype[Any]
    kernel: Any
    data: tuple[Any, ...]
    evaluate: Callable[[npt.NDArray[Any]], dict[str, float]]
    init: Callable[[np.random.Generator], npt.NDArray[Any]]
    classification: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    samples: int = 0
    batch: int = 1
    evaluate_final: Callable[[npt.NDArray[Any]], dict[str, float]] | None = None
    workspace: Callable[[], tuple[Any, ...]] = _no_workspace
    # per-thread workspaces of grad(); a copy made by dataclasses.replace gets its own
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)

    def grad(self, params: npt.NDArray[Any], out: npt.NDArray[Any]) -> None:
        """The kernel called from Python (with this thread's workspace, made on first use)."""
        ws = getattr(self._local, "ws", None)
        if ws is None:
            ws = self._local.ws = self.workspace()
        self.kernel(params, out, self.data, ws)

    def gradients_per_epoch(self) -> int:
        """``ceil(samples / batch)``; :class:`ValueError` for problems without a training set."""
        if self.samples < 1:
            raise ValueError(f"problem {self.name} has no training set, so no epochs")
        return -(-self.samples // self.batch)


def _quadratic_point(q: Any, p: Any) -> dict[str, float]:
    """The loss ``f - f*`` and ``||grad f||^2`` (what the time bounds bound) at ``p``."""
    x = p.astype(np.float64)
    g = q.gradient(x)
    return {"loss": float(q.value(x) - q.f_star), "grad_sq": float(g @ g)}


def _quadratic(rng: np.random.Generator, dtype: Any, **_: Any) -> Problem:
    q = random_quadratic(rng, dim=50, lsmooth=1.0, mu=0.05, sigma2=0.5)
    a, xs = q.a.astype(dtype), q.x_star.astype(dtype)
    noise = float(np.sqrt(q.sigma2 / q.dim))
    return Problem(
        "quadratic",
        q.dim,
        np.dtype(dtype),
        kernel=kernels.quadratic_kernel,
        data=(a, xs, noise),
        evaluate=lambda p: _quadratic_point(q, p),
        init=lambda r: (xs + r.standard_normal(q.dim)).astype(dtype),
        info={"L": q.lsmooth, "mu": q.mu, "sigma2": q.sigma2, "quadratic": q},
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
        kernel=kernels.lstsq_kernel,
        data=(x, y, batch),
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
        kernel = kernels.logreg_sparse_kernel
        args: tuple[Any, ...] = (data, indices, indptr, y, batch, l2)
    else:
        dense = (rng.standard_normal((n, d)) / np.sqrt(d) * 3).astype(dtype)
        y = (rng.random(n) < 1 / (1 + np.exp(-(dense @ w_true)))).astype(dtype)
        kernel, args = kernels.logreg_kernel, (dense, y, batch, l2)

    x_tr, y_tr, x_te, y_te = train_test_split(rng, dense, y)

    def evaluate(p: Any) -> dict[str, float]:
        loss, _ = kernels.logreg_loss(p, x_tr, y_tr)
        _, acc = kernels.logreg_loss(p, x_te, y_te)
        return {"loss": float(loss), "accuracy": float(acc)}

    name = "logreg-sparse" if sparse else "logreg"
    return Problem(
        name,
        d,
        np.dtype(dtype),
        kernel=kernel,
        data=args,
        evaluate=evaluate,
        init=lambda r: np.zeros(d, dtype=dtype),
        classification=True,
    )


def make_workload(
    model: str,
    dataset: str,
    rng: np.random.Generator,
    *,
    batch: int = 32,
    hidden: tuple[int, ...] = (128,),
    dtype: str = "float64",
    data_dir: str | Path | None = None,
    init: str = "normal",
) -> Problem:
    """``model`` (``mlp``, ``lenet``, ``cnn``, ``logreg``) trained on ``dataset`` with softmax
    cross-entropy; parameters initialized by ``init`` (``normal``: N(0, 0.01^2), ``he``,
    ``glorot``). Missing or broken data raises :class:`real_exec.executor.data.errors.DataError`."""
    _check_options(batch, hidden, dtype)
    data = load_dataset(dataset, rng, data_dir, dtype)
    if batch > len(data.y_train):
        raise ValueError(
            f"batch {batch:,} is larger than the {len(data.y_train):,} training samples of {dataset} "
            "(a minibatch is drawn from them)"
        )
    try:
        net = build_network(model, data.shape, data.classes, hidden)
    except ValueError as exc:
        h, w, c = data.shape
        raise ValueError(f"{model} cannot take the {dataset} images ({h}x{w}x{c}): {exc}") from None
    x_tr, y_tr, x_te, y_te = data.x_train, data.y_train, data.x_test, data.y_test
    rows, glob = plan(net.table, batch)

    def workspace() -> tuple[Any, ...]:
        return (np.empty(glob[FLOAT_SIZE], dtype=x_tr.dtype), np.empty(glob[INT_SIZE], np.int64))

    curve_tr = slice(0, min(CURVE_TRAIN_SAMPLES, len(y_tr)))
    curve_te = slice(0, min(CURVE_TEST_SAMPLES, len(y_te)))

    def evaluate(p: Any) -> dict[str, float]:
        loss, _ = net_loss_acc(p, x_tr[curve_tr], y_tr[curve_tr], net.table, 128)
        _, acc = net_loss_acc(p, x_te[curve_te], y_te[curve_te], net.table, 128)
        return {"loss": float(loss), "accuracy": float(acc)}

    def evaluate_final(p: Any) -> dict[str, float]:
        loss, _ = net_loss_acc(p, x_tr[curve_tr], y_tr[curve_tr], net.table, 128)
        test_loss, acc = net_loss_acc(p, x_te, y_te, net.table, 128)
        return {"loss": float(loss), "accuracy": float(acc), "test_loss": float(test_loss)}

    name = next(
        (alias for alias, spec in ALIASES.items() if spec == (model, dataset) and hidden == (128,)), None
    )
    return Problem(
        name or f"{model}-{dataset}",
        net.dim,
        np.dtype(dtype),
        kernel=net_kernel,
        data=(x_tr, y_tr, net.table, batch, rows, glob),
        evaluate=evaluate,
        init=lambda r: net.init(r, init, dtype),
        classification=True,
        info={
            "model": model,
            "dataset": dataset,
            "layers": net.describe(),
            "data": data.describe(),
            "data_source": data.origin,
            "init": init,
        },
        samples=len(y_tr),
        batch=batch,
        evaluate_final=evaluate_final,
        workspace=workspace,
    )


def _check_options(batch: int, hidden: tuple[int, ...], dtype: str) -> None:
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    if not hidden or any(h < 1 for h in hidden):
        raise ValueError(f"hidden layer sizes must be >= 1, got {hidden}")


def make_problem(
    name: str,
    rng: np.random.Generator,
    *,
    batch: int = 32,
    hidden: tuple[int, ...] = (128,),
    dtype: str = "float64",
) -> Problem:
    """Build problem ``name`` (one of :data:`PROBLEMS`) with data generated from ``rng``."""
    if name in ALIASES:
        model, dataset = ALIASES[name]
        return make_workload(model, dataset, rng, batch=batch, hidden=hidden, dtype=dtype)
    _check_options(batch, hidden, dtype)
    dt = np.float32 if dtype == "float32" else np.float64
    builders: dict[str, Callable[..., Problem]] = {
        "quadratic": _quadratic,
        "lstsq": _lstsq,
        "logreg": _logreg,
        "logreg-sparse": partial(_logreg, sparse=True),
    }
    if name not in builders:
        raise ValueError(f"problem must be one of {', '.join(PROBLEMS)}, got {name!r}")
    return builders[name](rng, dt, batch=batch, hidden=hidden)


def problem_from_options(
    problem: str | None = None,
    model: str | None = None,
    dataset: str | None = None,
    *,
    seed: int = 0,
    batch: int = 32,
    hidden: tuple[int, ...] = (128,),
    dtype: str = "float64",
    init: str = "normal",
    data_dir: str | Path | None = None,
) -> Problem:
    """The problem ``asgd run``'s options name: ``problem`` (one of :data:`PROBLEMS`), or
    ``model`` and ``dataset`` (a missing one of the two: ``mlp`` / ``fashion-mnist``); data
    drawn or split with ``seed``."""
    if problem is not None and (model is not None or dataset is not None):
        raise ValueError("give a problem, or a model and a dataset, not both")
    if problem is None and model is None and dataset is None:
        raise ValueError("give a problem, or a model and a dataset")
    rng = np.random.default_rng(seed)
    if problem is not None and problem not in ALIASES:
        return make_problem(problem, rng, batch=batch, hidden=hidden, dtype=dtype)
    if problem is not None:
        model, dataset = ALIASES[problem]
    return make_workload(
        model or "mlp",
        dataset or "fashion-mnist",
        rng,
        batch=batch,
        hidden=hidden,
        dtype=dtype,
        data_dir=data_dir,
        init=init,
    )
