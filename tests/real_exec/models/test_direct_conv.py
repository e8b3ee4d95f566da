"""The direct single-channel convolution against the definition, written with numpy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from real_exec.executor.models.direct_conv import conv_backward, conv_forward, span


def _reference(x: np.ndarray, w: np.ndarray, bias: np.ndarray, h: int, wd: int, k: int) -> np.ndarray:
    """``z[n, i, j, c] = b[c] + sum_{di, dj} w[di, dj, c] x[n, i + di, j + dj]`` as
    ``(batch * out_h * out_w, co)``."""
    img = x.reshape(-1, h, wd)
    oh, ow = h - k + 1, wd - k + 1
    z = np.zeros((img.shape[0], oh, ow, w.shape[1])) + bias
    for di in range(k):
        for dj in range(k):
            z += img[:, di : di + oh, dj : dj + ow, None] * w[di * k + dj]
    return z.reshape(-1, w.shape[1])


shapes = st.tuples(
    st.integers(1, 3),  # batch
    st.integers(1, 9),  # kernel size k (1-4 taps one by one, 5-9 a pass of five first)
    st.integers(0, 6),  # height beyond k
    st.integers(0, 6),  # width beyond k
    st.integers(1, 4),  # output channels
)


# Rounding only separates the two: sums of at most 81 products of standard normals,
# reassociated, differ by ~1e-14; 1e-10 is far above that and far below any indexing
# error (order 1).
@settings(max_examples=60)
@given(shapes, st.integers(0, 2**32 - 1))
def test_forward_and_backward_match_the_definition(shape: tuple[int, ...], seed: int) -> None:
    batch, k, extra_h, extra_w, co = shape
    h, wd = k + extra_h, k + extra_w
    oh, ow = h - k + 1, wd - k + 1
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, h * wd))
    w = rng.standard_normal((k * k, co))
    bias = rng.standard_normal(co)
    wide = np.full((co, span(wd, oh, ow)), np.nan)  # scratch: nothing may be read before written
    z = np.empty((batch * oh * ow, co))
    conv_forward(x, w, bias, z, wide, wd, oh, ow, k)
    np.testing.assert_allclose(z, _reference(x, w, bias, h, wd, k), rtol=0, atol=1e-10)

    # The loss sum(z * dz) has gradient dz: its derivative with respect to w and x, by the
    # linearity of z in each, is read off the reference at unit vectors.
    dz = rng.standard_normal(z.shape)
    gw = np.full_like(w, np.nan)
    dx = np.full_like(x, np.nan)
    conv_backward(x, w, dz, gw, wide, dx, wd, oh, ow, k, True)
    zero = np.zeros(co)
    expect_gw = np.array(
        [
            [
                np.sum(_reference(x, np.eye(k * k * co)[p * co + c].reshape(k * k, co), zero, h, wd, k) * dz)
                for c in range(co)
            ]
            for p in range(k * k)
        ]
    )
    expect_dx = np.array(
        [
            [
                np.sum(
                    _reference(np.eye(h * wd)[q][None], w, zero, h, wd, k)
                    * dz[n * oh * ow : (n + 1) * oh * ow]
                )
                for q in range(h * wd)
            ]
            for n in range(batch)
        ]
    )
    np.testing.assert_allclose(gw, expect_gw, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, expect_dx, rtol=0, atol=1e-10)


def test_without_the_input_gradient_dx_is_left_alone() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 36))
    w = rng.standard_normal((9, 2))
    dz = rng.standard_normal((2 * 16, 2))
    dx = np.full_like(x, 7.0)
    gw = np.empty_like(w)
    conv_backward(x, w, dz, gw, np.empty((2, span(6, 4, 4))), dx, 6, 4, 4, 3, False)
    assert (dx == 7.0).all()
