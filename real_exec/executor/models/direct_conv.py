"""Direct convolution of a single-channel input (a grayscale image's first layer), compiled.

A ``k x k`` convolution, stride 1, no padding, of one input channel to ``co`` output channels:

    z[n, i, j, c] = b[c] + sum_{di, dj} w[di, dj, c] x[n, i + di, j + dj]

With one input channel the ``im2col`` route of :mod:`real_exec.executor.models.layers`
copies every pixel ``k^2`` times into a patch matrix whose product with ``w`` has only ``co``
columns, a shape matrix libraries multiply slowly. Here the sums run on the image itself:
an input row is ``w_in`` wide, so output pixel ``(i, j)`` sits at offset ``t = i * w_in + j``
of a "wide" output row, and tap ``(di, dj)`` adds ``w[di, dj, c] * x[t + di * w_in + dj]``
for every ``t`` in ``[0, span)``, ``span = (out_h - 1) * w_in + out_w``: one contiguous loop
per tap that the compiler vectorizes, whose columns ``j >= out_w`` are computed and never
used. Five taps of a row go in one pass (``_FIVE``), which loads and stores the wide row
once for five multiply-adds.

The weight gradient is the same sums read the other way,

    dW[di, dj, c] = sum_{n, i, j} x[n, i + di, j + dj] dz[n, i, j, c],

dot products of a shifted input row with the output gradient laid out wide (zeros in the
unused columns), and the input gradient ``dx[n, t + di * w_in + dj] += sum_c w[di, dj, c]
dz_wide[c, t]``. Sums are reassociated (``fastmath`` reassoc, contract), so results differ
from the ``im2col`` route by rounding only.
"""

from __future__ import annotations

from typing import Any

from numba import njit

__all__ = ["conv_backward", "conv_forward", "span"]

_FAST = {"reassoc", "contract"}
#: Taps of one kernel row taken in one pass.
_FIVE = 5


@njit(nogil=True, cache=True)
def span(w_in: int, out_h: int, out_w: int) -> int:
    """Length of the wide output row: ``(out_h - 1) * w_in + out_w``."""
    return (out_h - 1) * w_in + out_w


@njit(nogil=True, cache=True, fastmath=_FAST)
def _add_row(acc: Any, xs: Any, w: Any, row: int, k: int, c: int, n: int) -> None:
    """``acc[t] += sum_{dj < k} w[row + dj, c] xs[t + dj]`` for ``t < n``."""
    dj = 0
    while dj + _FIVE <= k:
        w0, w1, w2 = w[row + dj, c], w[row + dj + 1, c], w[row + dj + 2, c]
        w3, w4 = w[row + dj + 3, c], w[row + dj + 4, c]
        s = xs[dj:]
        for t in range(n):
            acc[t] += w0 * s[t] + w1 * s[t + 1] + w2 * s[t + 2] + w3 * s[t + 3] + w4 * s[t + 4]
        dj += _FIVE
    while dj < k:
        w0 = w[row + dj, c]
        s = xs[dj:]
        for t in range(n):
            acc[t] += w0 * s[t]
        dj += 1


@njit(nogil=True, cache=True, fastmath=_FAST)
def _dot_row(xs: Any, d: Any, gw: Any, row: int, k: int, c: int, n: int) -> None:
    """``gw[row + dj, c] += sum_{t < n} xs[t + dj] d[t]`` for ``dj < k``."""
    dj = 0
    while dj + _FIVE <= k:
        s = xs[dj:]
        t0 = t1 = t2 = t3 = t4 = 0.0
        for t in range(n):
            v = d[t]
            t0 += s[t] * v
            t1 += s[t + 1] * v
            t2 += s[t + 2] * v
            t3 += s[t + 3] * v
            t4 += s[t + 4] * v
        gw[row + dj, c] += t0
        gw[row + dj + 1, c] += t1
        gw[row + dj + 2, c] += t2
        gw[row + dj + 3, c] += t3
        gw[row + dj + 4, c] += t4
        dj += _FIVE
    while dj < k:
        s = xs[dj:]
        t0 = 0.0
        for t in range(n):
            t0 += s[t] * d[t]
        gw[row + dj, c] += t0
        dj += 1


@njit(nogil=True, cache=True, fastmath=_FAST)
def conv_forward(
    x: Any, w: Any, bias: Any, z: Any, wide: Any, w_in: int, out_h: int, out_w: int, k: int
) -> None:
    """``z`` ``(batch * out_h * out_w, co)`` from ``x`` ``(batch, h * w_in)``, ``w``
    ``(k * k, co)`` (rows ``(di, dj)``) and ``bias``; ``wide`` ``(co, span)`` is scratch."""
    co = w.shape[1]
    n_wide = span(w_in, out_h, out_w)
    for n in range(x.shape[0]):
        xn = x[n]
        for c in range(co):
            acc = wide[c]
            acc[:n_wide] = bias[c]
            for di in range(k):
                _add_row(acc, xn[di * w_in :], w, di * k, k, c, n_wide)
        r = n * out_h * out_w
        for i in range(out_h):
            for j in range(out_w):
                for c in range(co):
                    z[r + i * out_w + j, c] = wide[c, i * w_in + j]


@njit(nogil=True, cache=True, fastmath=_FAST)
def conv_backward(
    x: Any,
    w: Any,
    dz: Any,
    gw: Any,
    wide: Any,
    dx: Any,
    w_in: int,
    out_h: int,
    out_w: int,
    k: int,
    want_dx: bool,
) -> None:
    """The weight gradient into ``gw`` (overwritten) and, if ``want_dx``, the input gradient
    into ``dx`` ``(batch, h * w_in)`` (overwritten), from ``dz`` ``(batch * out_h * out_w,
    co)``; ``wide`` ``(co, span)`` is scratch. The bias gradient is ``dz``'s column sums."""
    co = w.shape[1]
    n_wide = span(w_in, out_h, out_w)
    gw[:, :] = 0.0
    wide[:, :] = 0.0  # the unused columns stay zero
    if want_dx:
        dx[:, :] = 0.0
    for n in range(x.shape[0]):
        r = n * out_h * out_w
        for i in range(out_h):
            for j in range(out_w):
                for c in range(co):
                    wide[c, i * w_in + j] = dz[r + i * out_w + j, c]
        xn = x[n]
        for di in range(k):
            for c in range(co):
                _dot_row(xn[di * w_in :], wide[c], gw, di * k, k, c, n_wide)
        if want_dx:
            dn = dx[n]
            for di in range(k):
                for dj in range(k):
                    out = dn[di * w_in + dj :]
                    for c in range(co):
                        wv = w[di * k + dj, c]
                        d = wide[c]
                        for t in range(n_wide):
                            out[t] += wv * d[t]
