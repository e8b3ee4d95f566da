import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory.staleness import (
    Empirical,
    Geometric,
    Poisson,
    StalenessModel,
    as_pmf,
    geometric_for_workers,
    poisson_for_workers,
    truncated_pmf,
)


@pytest.mark.parametrize("model", [Poisson(3.5), Geometric(0.7), Empirical.from_pmf([0.1, 0.6, 0.0, 0.3])])
def test_models_satisfy_the_protocol_and_their_moments(model: StalenessModel) -> None:
    assert isinstance(model, StalenessModel)
    k = np.arange(model.support_max(1e-15) + 1)
    p = model.pmf(k)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.allclose(np.cumsum(p), model.cdf(k))
    assert np.dot(k, p) == pytest.approx(model.mean(), rel=1e-9)
    assert np.dot((k - model.mean()) ** 2, p) == pytest.approx(model.var(), rel=1e-9)


def test_closed_forms() -> None:
    assert Poisson(4.0).mean() == pytest.approx(4.0) and Poisson(4.0).var() == pytest.approx(4.0)
    g = Geometric(0.75)
    assert g.mean() == pytest.approx(3.0) and g.var() == pytest.approx(0.75 / 0.25**2)
    assert g.pmf([0, 3]).tolist() == pytest.approx([0.25, 0.25 * 0.75**3])


def test_worker_parameterizations() -> None:
    assert poisson_for_workers(8).lam == 7.0
    assert geometric_for_workers(8).q == pytest.approx(1 - 1 / 8)
    with pytest.raises(ValueError, match="workers"):
        poisson_for_workers(0)


def test_sampling_matches_the_mean() -> None:
    # 200k draws: the standard error of the mean is sqrt(var/n) < 0.01; 5 SE tolerance.
    rng = np.random.default_rng(1)
    for model in (Poisson(5.0), Geometric(0.8), Empirical.from_pmf([0.5, 0.25, 0.25])):
        x = model.rvs(200_000, rng)
        assert x.dtype == np.int64
        assert abs(x.mean() - model.mean()) < 5 * np.sqrt(model.var() / x.size)


def test_sampling_is_reproducible() -> None:
    a = Poisson(3.0).rvs(100, np.random.default_rng(7))
    b = Poisson(3.0).rvs(100, np.random.default_rng(7))
    assert np.array_equal(a, b)


@pytest.mark.parametrize(
    ("bad", "match"),
    [([0.5, 0.6], "sum to 1"), ([-0.1, 1.1], ">= 0"), ([], "non-empty"), ([np.nan, 1.0], "finite")],
)
def test_empirical_rejects_bad_pmfs(bad: list[float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Empirical.from_pmf(bad)


def test_invalid_parameters_are_rejected() -> None:
    with pytest.raises(ValueError, match="lambda"):
        Poisson(-1.0)
    with pytest.raises(ValueError, match="q"):
        Geometric(1.0)
    with pytest.raises(ValueError, match="integers"):
        Empirical.from_samples([0.5, 1])


def test_empirical_from_samples_and_lookup_outside_support() -> None:
    e = Empirical.from_samples([0, 2, 2, 3])
    assert e.pmf([0, 1, 2, 3, 4, -1]).tolist() == [0.25, 0.0, 0.5, 0.25, 0.0, 0.0]
    assert e.cdf([-1, 0, 2, 10]).tolist() == [0.0, 0.25, 0.75, 1.0]
    assert e.support_max() == 3


@given(st.floats(0.0, 60.0), st.floats(1e-12, 1e-3))
def test_support_max_leaves_at_most_the_tail_mass(lam: float, tail: float) -> None:
    model = Poisson(lam)
    n = model.support_max(tail)
    # 1 - cdf(n) is computed with an absolute rounding error of up to one ulp of 1.0 (2^-52,
    # ~2.2e-16), which for tail masses near 1e-11 exceeds the relative 1e-6 allowance (found by
    # hypothesis: lam = tail = 9.007e-12 gives 1 - cdf(0) = 9.00713e-12 for a true 9.00708e-12;
    # scipy.stats.poisson's isf gives the same n). The ulp is added to the allowance.
    assert 1.0 - model.cdf(n) <= tail * (1 + 1e-6) + 2.0**-52


def test_truncated_pmf_renormalizes() -> None:
    p = truncated_pmf(Geometric(0.5), tau_max=2)
    assert p.tolist() == pytest.approx([4 / 7, 2 / 7, 1 / 7])
    assert as_pmf([0.5, 0.5]).tolist() == [0.5, 0.5]
