"""Forward and backward passes of feed-forward networks, compiled with numba (``nogil``).

A network is a table of layers (:data:`COLUMNS`), one row per layer, and a flat parameter
vector. Activations are kept per sample as flat rows in channels-last order (NHWC: row
``((i * width) + j) * channels + c``), so a batch is a 2-D array ``(batch, height * width
* channels)``. Layers:

* ``DENSE`` -- ``z = a W + b``, ``W`` of shape ``(inputs, outputs)`` row-major, then ``b``;
* ``CONV`` -- a ``k x k`` convolution, stride 1, no padding: ``im2col`` turns the batch into
  a matrix of patches ``(batch * out_h * out_w, k * k * in_c)`` (patch columns ordered
  ``(di, dj, c)``), and one matrix product with ``W`` ``(k * k * in_c, out_c)`` gives every
  output; the backward pass is two products (``cols^T delta`` and ``delta W^T``) and
  ``col2im``;
* ``RELU`` -- ``max(z, 0)``;
* ``POOL`` -- 2 x 2 max pooling, stride 2 (an odd last row or column is dropped).

The last layer's outputs are the logits of a softmax cross-entropy loss. Every matrix
product is one ``np.dot`` (BLAS); no Python runs inside a gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = [
    "COLUMNS",
    "CONV",
    "DENSE",
    "POOL",
    "RELU",
    "net_grad",
    "net_loss_acc",
    "net_loss_grad",
]

DENSE, CONV, RELU, POOL = 0, 1, 2, 3
#: The columns of a layer table row.
COLUMNS = ("kind", "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "k", "offset")
KIND, IN_H, IN_W, IN_C, OUT_H, OUT_W, OUT_C, K, OFFSET = range(len(COLUMNS))


@njit(nogil=True, cache=True)
def _im2col(x: Any, layer: Any) -> Any:
    """Patches of ``x`` (batch, in_h * in_w * in_c) as rows ``(n, i, j)``, columns ``(di, dj, c)``."""
    w_in, c = layer[IN_W], layer[IN_C]
    oh, ow, k = layer[OUT_H], layer[OUT_W], layer[K]
    kc = k * c
    b = x.shape[0]
    cols = np.empty((b * oh * ow, k * kc), dtype=x.dtype)
    for n in range(b):
        for i in range(oh):
            for j in range(ow):
                r = (n * oh + i) * ow + j
                for di in range(k):
                    src = ((i + di) * w_in + j) * c
                    dst = di * kc
                    for t in range(kc):
                        cols[r, dst + t] = x[n, src + t]
    return cols


@njit(nogil=True, cache=True)
def _col2im(dcols: Any, layer: Any, b: int) -> Any:
    """The transpose of :func:`_im2col`: patch gradients summed back onto the input."""
    w_in, c = layer[IN_W], layer[IN_C]
    oh, ow, k = layer[OUT_H], layer[OUT_W], layer[K]
    kc = k * c
    dx = np.zeros((b, layer[IN_H] * w_in * c), dtype=dcols.dtype)
    for n in range(b):
        for i in range(oh):
            for j in range(ow):
                r = (n * oh + i) * ow + j
                for di in range(k):
                    src = ((i + di) * w_in + j) * c
                    dst = di * kc
                    for t in range(kc):
                        dx[n, src + t] += dcols[r, dst + t]
    return dx


@njit(nogil=True, cache=True)
def _weights(params: Any, layer: Any) -> tuple[Any, Any]:
    """Views of a dense or conv layer's ``W`` (fan-in x outputs) and ``b``."""
    fan_in = layer[IN_H] * layer[IN_W] * layer[IN_C] if layer[KIND] == DENSE else layer[K] ** 2 * layer[IN_C]
    n_out = layer[OUT_C]
    off = layer[OFFSET]
    w = params[off : off + fan_in * n_out].reshape((fan_in, n_out))
    bias = params[off + fan_in * n_out : off + fan_in * n_out + n_out]
    return w, bias


@njit(nogil=True, cache=True)
def _pool(a: Any, layer: Any) -> tuple[Any, Any]:
    """2 x 2 max pooling; returns the output and, per output, the flat input index of its max."""
    w_in, c = layer[IN_W], layer[IN_C]
    oh, ow = layer[OUT_H], layer[OUT_W]
    b = a.shape[0]
    out = np.empty((b, oh * ow * c), dtype=a.dtype)
    arg = np.empty((b, oh * ow * c), dtype=np.int64)
    for n in range(b):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    best = ((2 * i) * w_in + 2 * j) * c + ch
                    for di in range(2):
                        for dj in range(2):
                            s = ((2 * i + di) * w_in + 2 * j + dj) * c + ch
                            if a[n, s] > a[n, best]:
                                best = s
                    t = (i * ow + j) * c + ch
                    out[n, t] = a[n, best]
                    arg[n, t] = best
    return out, arg


@njit(nogil=True, cache=True)
def _forward(params: Any, xb: Any, table: Any) -> tuple[Any, Any, Any]:
    """Activations after every layer (``acts[0]`` is the input), the conv layers' patch
    matrices and the pool layers' argmax indices (empty arrays for the other layers)."""
    a = np.ascontiguousarray(xb)
    acts = [a]
    cols = [np.empty((0, 0), dtype=xb.dtype)]
    args = [np.empty((0, 0), dtype=np.int64)]
    for li in range(table.shape[0]):
        layer = table[li]
        kind = layer[KIND]
        patches = np.empty((0, 0), dtype=xb.dtype)
        arg = np.empty((0, 0), dtype=np.int64)
        if kind == DENSE:
            w, bias = _weights(params, layer)
            a = np.dot(a, w) + bias
        elif kind == CONV:
            w, bias = _weights(params, layer)
            patches = _im2col(a, layer)
            z = np.dot(patches, w) + bias
            a = z.reshape((a.shape[0], layer[OUT_H] * layer[OUT_W] * layer[OUT_C]))
        elif kind == RELU:
            a = a * (a > 0)
        else:
            a, arg = _pool(a, layer)
        acts.append(a)
        cols.append(patches)
        args.append(arg)
    return acts, cols, args


@njit(nogil=True, cache=True)
def _softmax_rows(z: Any) -> Any:
    p = np.empty_like(z)
    for r in range(z.shape[0]):
        e = np.exp(z[r] - z[r].max())
        p[r] = e / e.sum()
    return p


@njit(nogil=True, cache=True)
def net_loss_grad(params: Any, out: Any, xb: Any, yb: Any, table: Any) -> float:
    """Mean softmax cross-entropy on the batch ``(xb, yb)``, its gradient written to ``out``."""
    acts, cols, args = _forward(params, xb, table)
    b = xb.shape[0]
    p = _softmax_rows(acts[-1])
    loss = 0.0
    for r in range(b):
        loss -= np.log(max(p[r, yb[r]], 1e-300))
        p[r, yb[r]] -= 1.0
    delta = p / b
    for li in range(table.shape[0] - 1, -1, -1):
        layer = table[li]
        kind = layer[KIND]
        a_in = acts[li]
        if kind == DENSE:
            w, _ = _weights(params, layer)
            gw, gb = _weights(out, layer)
            gw[:, :] = np.dot(a_in.T, delta)
            gb[:] = delta.sum(axis=0)
            if li > 0:
                delta = np.dot(delta, w.T)
        elif kind == CONV:
            w, _ = _weights(params, layer)
            gw, gb = _weights(out, layer)
            dz = delta.reshape((b * layer[OUT_H] * layer[OUT_W], layer[OUT_C]))
            gw[:, :] = np.dot(cols[li + 1].T, dz)
            gb[:] = dz.sum(axis=0)
            if li > 0:
                delta = _col2im(np.dot(dz, w.T), layer, b)
        elif kind == RELU:
            delta = delta * (acts[li + 1] > 0)
        else:
            dx = np.zeros_like(a_in)
            arg = args[li + 1]
            for n in range(b):
                for t in range(arg.shape[1]):
                    dx[n, arg[n, t]] += delta[n, t]
            delta = dx
    return loss / b


@njit(nogil=True, cache=True)
def net_grad(params: Any, out: Any, x: Any, y: Any, table: Any, batch: int) -> None:
    """Gradient of the loss on a minibatch of ``batch`` samples drawn uniformly (with
    replacement, numba's per-thread generator) from ``(x, y)``."""
    idx = np.random.randint(0, x.shape[0], batch)
    net_loss_grad(params, out, x[idx], y[idx], table)


@njit(nogil=True, cache=True)
def net_loss_acc(params: Any, x: Any, y: Any, table: Any, chunk: int) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on ``(x, y)``, forward passes of ``chunk`` samples."""
    loss = 0.0
    correct = 0
    n = x.shape[0]
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        acts, _, _ = _forward(params, x[start:stop], table)
        p = _softmax_rows(acts[-1])
        for r in range(stop - start):
            label = y[start + r]
            loss -= np.log(max(p[r, label], 1e-300))
            correct += np.argmax(p[r]) == label
    return loss / n, correct / n
