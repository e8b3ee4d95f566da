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
product is one ``np.dot`` (BLAS) writing into preallocated memory; no Python runs inside a
gradient, and nothing is allocated there either: every activation, patch matrix and
backward buffer lives in a workspace (a float and an int array) laid out by :func:`plan`,
one per thread. (Fresh large arrays on every call cost more than the arithmetic on this
kind of machine: the operating system faults their pages in one by one.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from real_exec.executor.models.direct_conv import conv_backward, conv_forward, span

__all__ = [
    "COLUMNS",
    "CONV",
    "DENSE",
    "POOL",
    "RELU",
    "net_grad",
    "net_kernel",
    "net_loss_acc",
    "net_loss_grad",
    "plan",
]

DENSE, CONV, RELU, POOL = 0, 1, 2, 3
#: The columns of a layer table row.
COLUMNS = ("kind", "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "k", "offset")
KIND, IN_H, IN_W, IN_C, OUT_H, OUT_W, OUT_C, K, OFFSET = range(len(COLUMNS))


#: Columns of a plan row (one per layer): offsets of the layer's output activation and
#: patch matrix in the float workspace and of its pool indices in the int workspace.
ACT, PATCH, ARG = 0, 1, 2
#: Entries of a plan's ``glob`` array: the minibatch input, the two backward buffers (float
#: workspace), the minibatch indices (int workspace), and the two workspace sizes.
XB, D0, D1, IDX, FLOAT_SIZE, INT_SIZE = range(6)


@njit(nogil=True, cache=True)
def _out_size(layer: Any) -> int:
    return layer[OUT_H] * layer[OUT_W] * layer[OUT_C]


@njit(nogil=True, cache=True)
def _in_size(layer: Any) -> int:
    return layer[IN_H] * layer[IN_W] * layer[IN_C]


@njit(nogil=True, cache=True)
def plan(table: Any, batch: int) -> tuple[Any, Any]:
    """The workspace layout for ``batch`` samples: ``(rows, glob)`` (see :data:`ACT`, :data:`XB`)."""
    rows = np.full((table.shape[0], 3), -1, dtype=np.int64)
    widest = _in_size(table[0])
    f, i = batch * widest, 0  # the minibatch input first
    for li in range(table.shape[0]):
        layer = table[li]
        widest = max(widest, _out_size(layer))
        rows[li, ACT] = f
        f += batch * _out_size(layer)
        if layer[KIND] == CONV:
            rows[li, PATCH] = f
            if layer[IN_C] == 1:  # direct convolution: one wide row per output channel
                f += layer[OUT_C] * _wide_row(layer)
            else:
                f += batch * layer[OUT_H] * layer[OUT_W] * layer[K] * layer[K] * layer[IN_C]
        elif layer[KIND] == POOL:
            rows[li, ARG] = i
            i += batch * _out_size(layer)
    glob = np.zeros(6, dtype=np.int64)
    glob[XB], glob[D0], glob[D1], glob[IDX] = 0, f, f + batch * widest, i
    glob[FLOAT_SIZE], glob[INT_SIZE] = f + 2 * batch * widest, i + batch
    return rows, glob


@njit(nogil=True, cache=True)
def _view(ws: Any, offset: int, rows: int, cols: int) -> Any:
    return ws[offset : offset + rows * cols].reshape((rows, cols))


@njit(nogil=True, cache=True)
def _geometry(layer: Any) -> tuple[int, int, int, int]:
    """A one-channel convolution's ``(w_in, out_h, out_w, k)`` for :mod:`direct_conv`."""
    return layer[IN_W], layer[OUT_H], layer[OUT_W], layer[K]


@njit(nogil=True, cache=True)
def _wide_row(layer: Any) -> int:
    """The length of a one-channel convolution's wide output row (:func:`direct_conv.span`)."""
    return span(layer[IN_W], layer[OUT_H], layer[OUT_W])


@njit(nogil=True, cache=True)
def _wide(ws: Any, rows: Any, layer: Any, li: int) -> Any:
    """A one-channel convolution's scratch: one wide row per output channel."""
    return _view(ws, rows[li, PATCH], layer[OUT_C], _wide_row(layer))


@njit(nogil=True, cache=True)
def _im2col(x: Any, layer: Any, cols: Any) -> None:
    """Write the patches of ``x`` (batch, in_h * in_w * in_c) into ``cols``: rows ``(n, i, j)``,
    columns ``(di, dj, c)``."""
    w_in, c = layer[IN_W], layer[IN_C]
    oh, ow, k = layer[OUT_H], layer[OUT_W], layer[K]
    kc = k * c
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                r = (n * oh + i) * ow + j
                for di in range(k):
                    src = ((i + di) * w_in + j) * c
                    dst = di * kc
                    for t in range(kc):
                        cols[r, dst + t] = x[n, src + t]


@njit(nogil=True, cache=True)
def _col2im(dcols: Any, layer: Any, dx: Any) -> None:
    """The transpose of :func:`_im2col`: patch gradients summed onto ``dx`` (overwritten)."""
    w_in, c = layer[IN_W], layer[IN_C]
    oh, ow, k = layer[OUT_H], layer[OUT_W], layer[K]
    kc = k * c
    dx[:, :] = 0.0
    for n in range(dx.shape[0]):
        for i in range(oh):
            for j in range(ow):
                r = (n * oh + i) * ow + j
                for di in range(k):
                    src = ((i + di) * w_in + j) * c
                    dst = di * kc
                    for t in range(kc):
                        dx[n, src + t] += dcols[r, dst + t]


@njit(nogil=True, cache=True)
def _weights(params: Any, layer: Any) -> tuple[Any, Any]:
    """Views of a dense or conv layer's ``W`` (fan-in x outputs) and ``b``."""
    fan_in = _in_size(layer) if layer[KIND] == DENSE else layer[K] ** 2 * layer[IN_C]
    n_out = layer[OUT_C]
    off = layer[OFFSET]
    w = params[off : off + fan_in * n_out].reshape((fan_in, n_out))
    bias = params[off + fan_in * n_out : off + fan_in * n_out + n_out]
    return w, bias


@njit(nogil=True, cache=True)
def _add_bias(z: Any, bias: Any) -> None:
    for r in range(z.shape[0]):
        for c in range(z.shape[1]):
            z[r, c] += bias[c]


@njit(nogil=True, cache=True)
def _column_sums(z: Any, out: Any) -> None:
    out[:] = 0.0
    for r in range(z.shape[0]):
        for c in range(z.shape[1]):
            out[c] += z[r, c]


@njit(nogil=True, cache=True)
def _pool(a: Any, layer: Any, out: Any, arg: Any) -> None:
    """2 x 2 max pooling into ``out``; ``arg`` gets, per output, the input index of its max
    (the first of equal maxima in the order top-left, top-right, bottom-left, bottom-right)."""
    w_in, c = layer[IN_W], layer[IN_C]
    oh, ow = layer[OUT_H], layer[OUT_W]
    for n in range(a.shape[0]):
        an = a[n]
        for i in range(oh):
            for j in range(ow):
                top = ((2 * i) * w_in + 2 * j) * c
                corners = (top, top + c, top + w_in * c, top + w_in * c + c)
                t = (i * ow + j) * c
                for ch in range(c):
                    best = corners[0] + ch
                    v = an[best]
                    for q in range(1, 4):
                        s = corners[q] + ch
                        if an[s] > v:
                            best, v = s, an[s]
                    out[n, t + ch] = v
                    arg[n, t + ch] = best


@njit(nogil=True, cache=True)
def _activation(ws: Any, rows: Any, table: Any, li: int, b: int) -> Any:
    return _view(ws, rows[li, ACT], b, _out_size(table[li]))


@njit(nogil=True, cache=True)
def _forward(params: Any, xb: Any, table: Any, rows: Any, ws: Any, iws: Any) -> Any:
    """Every layer's output into the workspace; returns the last one (the logits)."""
    b = xb.shape[0]
    a = xb
    for li in range(table.shape[0]):
        layer = table[li]
        kind = layer[KIND]
        act = _activation(ws, rows, table, li, b)
        if kind == DENSE:
            w, bias = _weights(params, layer)
            np.dot(a, w, act)
            _add_bias(act, bias)
        elif kind == CONV:
            w, bias = _weights(params, layer)
            z = act.reshape((b * layer[OUT_H] * layer[OUT_W], layer[OUT_C]))
            if layer[IN_C] == 1:
                conv_forward(a, w, bias, z, _wide(ws, rows, layer, li), *_geometry(layer))
            else:
                patches = _view(ws, rows[li, PATCH], b * layer[OUT_H] * layer[OUT_W], w.shape[0])
                _im2col(a, layer, patches)
                np.dot(patches, w, z)
                _add_bias(z, bias)
        elif kind == RELU:
            for n in range(b):
                for t in range(act.shape[1]):
                    act[n, t] = max(a[n, t], 0.0)
        else:
            _pool(a, layer, act, _view(iws, rows[li, ARG], b, act.shape[1]))
        a = act
    return a


@njit(nogil=True, cache=True)
def _softmax_ce(logits: Any, yb: Any, delta: Any) -> float:
    """Mean cross-entropy of ``logits`` against ``yb``; ``delta`` gets its gradient."""
    b = logits.shape[0]
    loss = 0.0
    for r in range(b):
        m = logits[r].max()
        total = 0.0
        for c in range(logits.shape[1]):
            delta[r, c] = np.exp(logits[r, c] - m)
            total += delta[r, c]
        for c in range(logits.shape[1]):
            delta[r, c] /= total
        loss -= np.log(max(delta[r, yb[r]], 1e-300))
        delta[r, yb[r]] -= 1.0
        for c in range(logits.shape[1]):
            delta[r, c] /= b
    return loss / b


@njit(nogil=True, cache=True)
def _loss_grad(
    params: Any, out: Any, xb: Any, yb: Any, table: Any, rows: Any, glob: Any, ws: Any, iws: Any
) -> float:
    """Mean loss on ``(xb, yb)``; its gradient written to ``out``; all buffers in the workspace."""
    b = xb.shape[0]
    logits = _forward(params, xb, table, rows, ws, iws)
    buffers = (glob[D0], glob[D1])
    cur = 0
    delta = _view(ws, buffers[cur], b, logits.shape[1])
    loss = _softmax_ce(logits, yb, delta)
    for li in range(table.shape[0] - 1, -1, -1):
        layer = table[li]
        kind = layer[KIND]
        a_in = xb if li == 0 else _activation(ws, rows, table, li - 1, b)
        delta = _view(ws, buffers[cur], b, _out_size(layer))
        below = _view(ws, buffers[1 - cur], b, _in_size(layer))
        if kind == DENSE:
            w, _ = _weights(params, layer)
            gw, gb = _weights(out, layer)
            np.dot(a_in.T, delta, gw)
            _column_sums(delta, gb)
            if li > 0:
                np.dot(delta, w.T, below)
                cur = 1 - cur
        elif kind == CONV:
            w, _ = _weights(params, layer)
            gw, gb = _weights(out, layer)
            dz = delta.reshape((b * layer[OUT_H] * layer[OUT_W], layer[OUT_C]))
            _column_sums(dz, gb)
            if layer[IN_C] == 1:
                wide = _wide(ws, rows, layer, li)
                conv_backward(a_in, w, dz, gw, wide, below, *_geometry(layer), li > 0)
            else:
                patches = _view(ws, rows[li, PATCH], b * layer[OUT_H] * layer[OUT_W], w.shape[0])
                np.dot(patches.T, dz, gw)
                if li > 0:
                    np.dot(dz, w.T, patches)  # the patches are no longer needed: reuse for dcols
                    _col2im(patches, layer, below)
            if li > 0:
                cur = 1 - cur
        elif kind == RELU:
            act = _activation(ws, rows, table, li, b)
            for n in range(b):
                for t in range(delta.shape[1]):
                    if act[n, t] <= 0.0:
                        delta[n, t] = 0.0
        else:
            arg = _view(iws, rows[li, ARG], b, delta.shape[1])
            below[:, :] = 0.0
            for n in range(b):
                for t in range(delta.shape[1]):
                    below[n, arg[n, t]] += delta[n, t]
            cur = 1 - cur
    return loss


@njit(nogil=True, cache=True)
def net_grad(
    params: Any, out: Any, x: Any, y: Any, table: Any, batch: int, rows: Any, glob: Any, ws: Any, iws: Any
) -> float:
    """Gradient of the loss on a minibatch of ``batch`` samples drawn uniformly (with
    replacement, numba's per-thread generator) from ``(x, y)``, in the workspace
    ``(ws, iws)`` laid out by ``plan(table, batch)``; returns the minibatch loss."""
    idx = iws[glob[IDX] : glob[IDX] + batch]
    xb = _view(ws, glob[XB], batch, x.shape[1])
    for r in range(batch):
        idx[r] = np.random.randint(0, x.shape[0])
        xb[r] = x[idx[r]]
    return _loss_grad(params, out, xb, y[idx], table, rows, glob, ws, iws)


@njit(nogil=True, cache=True)
def net_kernel(params: Any, out: Any, data: Any, ws: Any) -> None:
    """:func:`net_grad` as a problem kernel: ``data = (x, y, table, batch, rows, glob)``,
    ``ws = (float workspace, int workspace)``."""
    x, y, table, batch, rows, glob = data
    net_grad(params, out, x, y, table, batch, rows, glob, ws[0], ws[1])


@njit(nogil=True, cache=True)
def net_loss_grad(params: Any, out: Any, xb: Any, yb: Any, table: Any) -> float:
    """Mean loss on the batch ``(xb, yb)`` and its gradient in ``out`` (allocates its own
    workspace: for tests and one-off use)."""
    rows, glob = plan(table, xb.shape[0])
    ws = np.empty(glob[FLOAT_SIZE], dtype=xb.dtype)
    iws = np.empty(glob[INT_SIZE], dtype=np.int64)
    return _loss_grad(params, out, np.ascontiguousarray(xb), yb, table, rows, glob, ws, iws)


@njit(nogil=True, cache=True)
def net_loss_acc(params: Any, x: Any, y: Any, table: Any, chunk: int) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on ``(x, y)``, forward passes of ``chunk`` samples
    in one workspace."""
    rows, glob = plan(table, chunk)
    ws = np.empty(glob[FLOAT_SIZE], dtype=x.dtype)
    iws = np.empty(glob[INT_SIZE], dtype=np.int64)
    loss = 0.0
    correct = 0
    n = x.shape[0]
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        xb = _view(ws, glob[XB], stop - start, x.shape[1])
        xb[:, :] = x[start:stop]
        logits = _forward(params, xb, table, rows, ws, iws)
        for r in range(stop - start):
            label = y[start + r]
            m = logits[r].max()
            total = 0.0
            for c in range(logits.shape[1]):
                total += np.exp(logits[r, c] - m)
            loss -= logits[r, label] - m - np.log(total)
            correct += np.argmax(logits[r]) == label
    return loss / n, correct / n
