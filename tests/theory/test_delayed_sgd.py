import numpy as np
import pytest

from theory.delayed_sgd import run_delayed_sgd
from theory.problems import Quadratic, least_squares, random_quadratic
from theory.staleness import Empirical, Poisson
from theory.stepsize import inverse


def _scalar(a: float = 2.0) -> Quadratic:
    return Quadratic(np.array([[a]]), np.array([0.0]))


def test_noiseless_constant_delay_matches_the_hand_recursion() -> None:
    # x_{t+1} = x_t - eta * a * x_{t-1}, with x_{-1} = x_0.
    a, eta, x0 = 2.0, 0.1, 1.0
    run = run_delayed_sgd(_scalar(a), [x0], eta, np.ones(6, dtype=int), 6, np.random.default_rng(0))
    xs = [x0, x0]  # x_{-1}, x_0
    for _ in range(6):
        xs.append(xs[-1] - eta * a * xs[-2])
    assert run.gap_final[0] == pytest.approx(0.5 * a * xs[-1] ** 2, rel=1e-12)
    assert run.delay.tolist() == [[1] * 6]


def test_zero_delay_is_plain_gradient_descent() -> None:
    run = run_delayed_sgd(_scalar(1.0), [1.0], 0.5, np.zeros(3, dtype=int), 3, np.random.default_rng(0))
    assert run.gap_final[0] == pytest.approx(0.5 * 0.5**6)
    assert run.grad_sq[0].tolist() == pytest.approx([1.0, 0.25, 0.0625])


def test_adaptive_steps_follow_the_rule() -> None:
    rng = np.random.default_rng(2)
    run = run_delayed_sgd(_scalar(), [1.0], 0.2, Poisson(2.0), 50, rng, runs=3, rule=inverse())
    assert np.allclose(run.step, 0.2 / (run.delay + 1))


def test_runs_are_independent_and_reproducible() -> None:
    q = random_quadratic(np.random.default_rng(0), 3, 1.0, 0.1, sigma2=1.0)
    a = run_delayed_sgd(
        q, np.zeros(3), 0.05, Empirical.from_pmf([0.5, 0.5]), 20, np.random.default_rng(4), runs=4
    )
    b = run_delayed_sgd(
        q, np.zeros(3), 0.05, Empirical.from_pmf([0.5, 0.5]), 20, np.random.default_rng(4), runs=4
    )
    assert np.array_equal(a.gap_final, b.gap_final)
    assert len(set(np.round(a.gap_final, 12))) == 4


def test_noise_has_the_requested_variance() -> None:
    # 50k draws of ||xi||^2 (chi-square with 4 dof scaled by sigma2/4): SE of the mean is
    # sigma2 * sqrt(2/4/50k) ~ 0.0095 for sigma2 = 3; tolerance 5 SE.
    q = random_quadratic(np.random.default_rng(0), 4, 1.0, 0.5, sigma2=3.0)
    xi = q.noise(np.random.default_rng(1), (50_000,))
    assert np.mean(np.sum(xi**2, axis=1)) == pytest.approx(3.0, abs=0.05)


def test_quadratic_constants() -> None:
    q = random_quadratic(np.random.default_rng(9), 6, lsmooth=3.0, mu=0.2, sigma2=0.0)
    assert q.lsmooth == pytest.approx(3.0) and q.mu == pytest.approx(0.2)
    assert q.value(q.x_star) == pytest.approx(0.0)
    assert np.allclose(q.gradient(q.x_star), 0.0)


def test_least_squares_minimum() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(50)
    ls = least_squares(x, y)
    w = ls.x_star + 0.3
    assert ls.value(w) == pytest.approx(np.sum((x @ w - y) ** 2) / 100)
    assert np.allclose(ls.gradient(ls.x_star), 0.0, atol=1e-10)


def test_short_delay_sequence_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least 10"):
        run_delayed_sgd(_scalar(), [1.0], 0.1, np.zeros(3, dtype=int), 10, np.random.default_rng(0))
