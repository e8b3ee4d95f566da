"""Every layer type's gradient against central finite differences (float64)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from real_exec.executor.models.layers import net_loss_acc, net_loss_grad
from real_exec.executor.models.networks import Network, _Builder, build_network


def _case(
    model: str | Network, shape: tuple[int, int, int], hidden: tuple[int, ...] = (7,), batch: int = 3
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    """A network (by name, or a built one), parameters and a minibatch. He initialization
    keeps every layer's activations of order 1, so that no ReLU sits within h of its kink
    for long."""
    rng = np.random.default_rng(3)
    net = model if isinstance(model, Network) else build_network(model, shape, classes=5, hidden=hidden)
    params = net.init(rng, "he") + 0.01 * rng.standard_normal(net.dim)
    x = rng.standard_normal((batch, int(np.prod(shape))))
    return net, params, x, rng.integers(0, 5, batch)


def _gradient_error(net: Any, params: np.ndarray, x: np.ndarray, y: np.ndarray, grad: np.ndarray) -> float:
    """The largest error of ``grad`` against central differences, relative to the largest
    numeric entry. Central differences with h = 1e-5 have truncation error O(h^2 f3) ~ 1e-10
    (f3: the third derivative) and rounding error ~ 1e-16 / h ~ 1e-11 on losses of order 1: a
    relative error of 1e-6 is far above both and far below any real bug (a wrong index or a
    missing term gives errors of order 1)."""
    h = 1e-5
    numeric = np.empty(net.dim)
    probe = np.zeros(net.dim)
    for i in range(net.dim):
        p = params.copy()
        p[i] += h
        up = net_loss_grad(p, probe, x, y, net.table)
        p[i] -= 2 * h
        down = net_loss_grad(p, probe, x, y, net.table)
        numeric[i] = (up - down) / (2 * h)
    return float(np.abs(grad - numeric).max() / max(np.abs(numeric).max(), 1e-12))


def _check(
    model: str | Network, shape: tuple[int, int, int], hidden: tuple[int, ...] = (7,), batch: int = 3
) -> None:
    net, params, x, y = _case(model, shape, hidden, batch)
    grad = np.zeros(net.dim)
    loss = net_loss_grad(params, grad, x, y, net.table)
    assert loss == pytest.approx(net_loss_acc(params, x, y, net.table, 2)[0], rel=1e-12)
    err = _gradient_error(net, params, x, y, grad)
    assert err < 1e-6, f"{net.describe()}: relative gradient error {err:.2e}"


def test_a_wrong_gradient_is_caught() -> None:
    # The checker itself can fail: the same gradient with a missing term (the output layer's
    # bias gradient left out) and with one entry off by 1e-5 of the largest entry.
    net, params, x, y = _case("mlp", (1, 1, 6), hidden=(7, 4))
    grad = np.zeros(net.dim)
    net_loss_grad(params, grad, x, y, net.table)
    assert _gradient_error(net, params, x, y, grad) < 1e-6
    no_bias = grad.copy()
    no_bias[-5:] = 0.0  # the output layer's 5 biases come last in the flat parameters
    assert _gradient_error(net, params, x, y, no_bias) > 1e-2
    one_off = grad.copy()
    one_off[3] += 1e-5 * np.abs(grad).max()
    assert _gradient_error(net, params, x, y, one_off) > 1e-6


def test_dense_and_relu() -> None:
    _check("mlp", (1, 1, 6), hidden=(7, 4))


def test_softmax_cross_entropy_alone() -> None:
    _check("logreg", (1, 1, 6))


def test_conv_pool_relu_dense_on_one_channel() -> None:
    _check("cnn", (14, 14, 1))  # conv 3x3, pool (on 12x12 and an odd 5x5), dense


def test_a_one_channel_conv_after_another_conv() -> None:
    # The direct one-channel convolution passes a gradient to the layer below it only when
    # it is not the first layer: conv 3x3 1->1, then conv 3x3 1->2 (k = 3: taps one by one).
    b = _Builder((9, 9, 1)).conv(3, 1).relu().conv(3, 2).relu().pool().dense(5)
    _check(Network("stack", np.array(b.rows, dtype=np.int64), b.offset, (9, 9, 1), 5), (9, 9, 1))


def test_lenet_on_one_channel() -> None:
    # conv 5x5 with 1 input channel (the direct convolution, a pass of five taps)
    _check("lenet", (16, 16, 1), batch=2)


def test_lenet_on_three_channels() -> None:
    # conv 5x5 with 3 input channels, pool, conv 5x5 with 6 channels
    _check("lenet", (16, 16, 3), batch=2)


def test_accuracy_counts_the_argmax() -> None:
    net = build_network("logreg", (1, 1, 2), classes=2)
    params = np.array([1.0, -1.0, -1.0, 1.0, 0.0, 0.0])  # W = [[1, -1], [-1, 1]], b = 0
    x = np.array([[2.0, 0.0], [0.0, 2.0], [3.0, 0.0]])
    loss, acc = net_loss_acc(params, x, np.array([0, 1, 1]), net.table, 2)
    assert acc == pytest.approx(2 / 3)
    expected = -np.mean(
        [np.log(1 / (1 + np.exp(-4))), np.log(1 / (1 + np.exp(-4))), np.log(1 / (1 + np.exp(6)))]
    )
    assert loss == pytest.approx(expected, rel=1e-12)
