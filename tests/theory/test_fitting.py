import numpy as np
import pytest

from theory.fitting import (
    fit_geometric,
    fit_models,
    fit_poisson,
    goodness_of_fit,
    total_variation,
    wasserstein1,
)
from theory.staleness import Empirical, Geometric, Poisson


def test_mle_recovers_parameters() -> None:
    # 100k samples: SE of lambda_hat = sqrt(6/1e5) ~ 0.008, of q_hat ~ 0.001; tolerances ~4 SE.
    rng = np.random.default_rng(3)
    assert fit_poisson(Poisson(6.0).rvs(100_000, rng)).lam == pytest.approx(6.0, abs=0.03)
    assert fit_geometric(Geometric(0.8).rvs(100_000, rng)).q == pytest.approx(0.8, abs=0.004)


def test_distances_on_known_cases() -> None:
    a, b = Empirical.from_pmf([0.5, 0.5]), Empirical.from_pmf([0.0, 0.5, 0.5])
    assert total_variation(a, b) == pytest.approx(0.5)
    assert wasserstein1(a, b) == pytest.approx(1.0)
    assert total_variation(a, a) == 0.0
    # Poisson(l) vs Poisson(l + d): W1 = d (stochastically ordered, means differ by d).
    assert wasserstein1(Poisson(3.0), Poisson(5.0)) == pytest.approx(2.0, abs=1e-6)


def test_goodness_of_fit_accepts_the_true_model_and_rejects_a_wrong_one() -> None:
    # Fixed seed; with 20k samples a Poisson(4) vs geometric mismatch is overwhelming
    # (p << 1e-10) while the true model's p-value is uniform, here well above 1e-3.
    x = Poisson(4.0).rvs(20_000, np.random.default_rng(11))
    assert goodness_of_fit(x, Poisson(4.0), fitted_params=0).p_value > 1e-3
    assert goodness_of_fit(x, fit_geometric(x)).p_value < 1e-10


def test_fit_models_prefers_the_generating_family() -> None:
    x = Geometric(0.75).rvs(20_000, np.random.default_rng(5))
    fits = {f.model: f for f in fit_models(x)}
    assert fits["geometric"].tv < 0.02 < fits["poisson"].tv
    assert fits["geometric"].params["q"] == pytest.approx(0.75, abs=0.01)
