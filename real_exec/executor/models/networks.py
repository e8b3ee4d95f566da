"""The papers' networks as layer tables for :mod:`real_exec.executor.models.layers`.

* ``mlp`` -- inputs-[hidden]-classes, ReLU between dense layers (``hidden=(128, 128, 128)``
  is the MLP of the Leashed-SGD evaluation);
* ``lenet`` -- for 28x28x1: conv 5x5 1->6, ReLU, max-pool 2x2, conv 5x5 6->16, ReLU, max-pool
  2x2, dense 256->120, ReLU, 120->10; for 32x32x3 (CIFAR-10) the same with 3 input channels
  and 400->120 (the LeNet of the Leashed-SGD and ASAP.SGD evaluations);
* ``cnn`` -- the papers' small CNN: conv 3x3 1->4, ReLU, max-pool 2x2, conv 3x3 4->8, ReLU,
  max-pool 2x2, dense 200->128, ReLU, 128->10;
* ``logreg`` -- multinomial logistic regression: one dense layer to the classes.

Initialization (``init``): ``normal`` draws every weight from N(0, 0.01^2), as the papers'
code does; ``he`` uses N(0, 2 / fan_in) and ``glorot`` N(0, 2 / (fan_in + fan_out)).
Biases start at 0.

>>> net = build_network("lenet", (28, 28, 1), classes=10)
>>> net.dim
34622
>>> net.describe()
'conv 5x5 1->6, relu, pool, conv 5x5 6->16, relu, pool, dense 256->120, relu, dense 120->10'
>>> build_network("lenet", (32, 32, 3), classes=10).describe().split(", ")[6]
'dense 400->120'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from real_exec.executor.models.layers import (
    COLUMNS,
    CONV,
    DENSE,
    IN_C,
    IN_H,
    IN_W,
    KIND,
    OFFSET,
    OUT_C,
    POOL,
    RELU,
    K,
)

__all__ = ["INITS", "LAYER_NAMES", "MODELS", "Network", "build_network"]

MODELS = ("mlp", "lenet", "cnn", "logreg")
INITS = ("normal", "he", "glorot")
LAYER_NAMES = {DENSE: "dense", CONV: "conv", RELU: "relu", POOL: "pool"}

Shape = tuple[int, int, int]  # height, width, channels


@dataclass(frozen=True, eq=False)
class Network:
    """A layer table (rows of :data:`real_exec.executor.models.layers.COLUMNS`) and its parameter count."""

    name: str
    table: npt.NDArray[np.int64]
    dim: int
    input_shape: Shape
    classes: int

    def init(self, rng: np.random.Generator, how: str = "normal", dtype: str = "float64") -> np.ndarray:
        """Initial parameters: weights by ``how`` (:data:`INITS`), biases 0."""
        if how not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}, got {how!r}")
        params = np.zeros(self.dim)
        for layer in self.table:
            if layer[KIND] not in (DENSE, CONV):
                continue
            fan_in = _fan_in(layer)
            fan_out = int(layer[OUT_C])
            std = {"normal": 0.01, "he": np.sqrt(2.0 / fan_in), "glorot": np.sqrt(2.0 / (fan_in + fan_out))}[
                how
            ]
            off = int(layer[OFFSET])
            params[off : off + fan_in * fan_out] = rng.normal(0.0, std, fan_in * fan_out)
        return params.astype(dtype)

    def describe(self) -> str:
        """The layers in words, e.g. ``conv 5x5 1->6, relu, pool, ...``."""
        parts = []
        for layer in self.table:
            kind = int(layer[KIND])
            if kind == CONV:
                parts.append(f"conv {layer[K]}x{layer[K]} {layer[IN_C]}->{layer[OUT_C]}")
            elif kind == DENSE:
                parts.append(f"dense {_fan_in(layer)}->{layer[OUT_C]}")
            else:
                parts.append(LAYER_NAMES[kind])
        return ", ".join(parts)


def _fan_in(layer: npt.NDArray[np.int64]) -> int:
    if layer[KIND] == DENSE:
        return int(layer[IN_H] * layer[IN_W] * layer[IN_C])
    return int(layer[K] ** 2 * layer[IN_C])


class _Builder:
    """Appends layers, tracking the activation shape and the parameter offset."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.rows: list[list[int]] = []
        self.offset = 0

    def _add(self, kind: int, out: Shape, k: int = 0, params: int = 0) -> None:
        h, w, c = self.shape
        row = dict(zip(COLUMNS, (kind, h, w, c, *out, k, self.offset), strict=True))
        self.rows.append([row[name] for name in COLUMNS])
        self.shape = out
        self.offset += params

    def conv(self, k: int, channels: int) -> _Builder:
        h, w, c = self.shape
        if h < k or w < k:
            raise ValueError(f"a {k}x{k} convolution does not fit a {h}x{w} input")
        self._add(CONV, (h - k + 1, w - k + 1, channels), k, k * k * c * channels + channels)
        return self

    def dense(self, outputs: int) -> _Builder:
        n_in = int(np.prod(self.shape))
        self._add(DENSE, (1, 1, outputs), 0, n_in * outputs + outputs)
        return self

    def relu(self) -> _Builder:
        self._add(RELU, self.shape)
        return self

    def pool(self) -> _Builder:
        h, w, c = self.shape
        self._add(POOL, (h // 2, w // 2, c))
        return self


def build_network(model: str, input_shape: Shape, classes: int, hidden: tuple[int, ...] = (128,)) -> Network:
    """The network ``model`` (:data:`MODELS`) for inputs of ``input_shape`` (h, w, c)."""
    b = _Builder(input_shape)
    if model == "mlp":
        if not hidden or min(hidden) < 1:
            raise ValueError(f"hidden layer sizes must be >= 1, got {hidden}")
        for size in hidden:
            b.dense(size).relu()
        b.dense(classes)
    elif model == "lenet":
        b.conv(5, 6).relu().pool().conv(5, 16).relu().pool().dense(120).relu().dense(classes)
    elif model == "cnn":
        b.conv(3, 4).relu().pool().conv(3, 8).relu().pool().dense(128).relu().dense(classes)
    elif model == "logreg":
        b.dense(classes)
    else:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    table = np.array(b.rows, dtype=np.int64)
    return Network(model, table, b.offset, input_shape, classes)
