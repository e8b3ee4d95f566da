import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory.properties import check_properties, expected_scale, normalize
from theory.staleness import Empirical, Geometric, Poisson, StalenessModel, as_pmf
from theory.stepsize import constant, exponential, fleet, inverse, mindthestep, tail_tau

TAUS = st.lists(st.integers(0, 10**6), min_size=1, max_size=50).map(np.array)
MODELS = st.one_of(
    st.floats(0.0, 40.0).map(Poisson),
    st.floats(0.0, 0.9).map(Geometric),
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30)
    .filter(lambda w: sum(w) > 1e-3)
    .map(lambda w: Empirical.from_pmf(np.asarray(w) / np.sum(w))),
)


def _rules(model: StalenessModel, amplitude: float, momentum: float, beta: float) -> list:
    return [
        constant(),
        inverse(),
        exponential(beta),
        fleet(workers=8),
        tail_tau(model, amplitude=amplitude),
        tail_tau(model, amplitude=amplitude, cdf="inclusive"),
        mindthestep(model, momentum=momentum),
    ]


@given(TAUS, MODELS, st.floats(0.0, 0.99), st.floats(0.3, 0.95), st.floats(0.0, 0.5))
def test_every_rule_is_positive_and_finite(tau, model, amplitude, momentum, beta) -> None:
    # TAIL-tau needs A < 1 to stay positive (A = 1 gives 0 in the tail, by design). The
    # exponential family is positive in exact arithmetic but exp(-beta tau) underflows to 0
    # in float64 once beta tau > ~745, so it is checked on beta tau <= 700.
    for s in _rules(model, amplitude, momentum, beta):
        values = s(tau)
        assert values.shape == tau.shape
        assert np.all(np.isfinite(values))
    for s in (inverse(), tail_tau(model, amplitude), mindthestep(model, momentum=momentum)):
        assert np.all(s(tau) > 0)
    assert np.all(exponential(beta)(tau[beta * tau <= 700]) > 0)
    assert np.all(fleet(workers=8)(tau[tau <= 1000]) > 0)


@given(MODELS, st.floats(0.0, 1.0), st.sampled_from(["strict", "inclusive", "midpoint"]))
def test_tail_tau_is_bounded_by_the_amplitude_and_non_increasing(model, amplitude, cdf) -> None:
    s = tail_tau(model, amplitude=amplitude, cdf=cdf)
    values = s(np.arange(as_pmf(model).size + 5))
    assert np.all(values >= 1 - amplitude - 1e-12) and np.all(values <= 1 + amplitude + 1e-12)
    assert np.all(np.diff(values) <= 1e-12)


@given(MODELS, st.floats(0.0, 1.0))
def test_midpoint_tail_tau_preserves_the_magnitude(model, amplitude) -> None:
    assert expected_scale(tail_tau(model, amplitude, cdf="midpoint"), model) == pytest.approx(1.0, abs=1e-12)


def test_strict_tail_tau_overshoots_by_the_collision_probability() -> None:
    # E[1 + A(1 - 2 P(tau' < tau))] = 1 + A sum_k p_k^2 for a discrete pmf.
    p = np.array([0.2, 0.5, 0.3])
    assert expected_scale(tail_tau(p, 0.6), p) == pytest.approx(1 + 0.6 * np.sum(p**2))


@given(MODELS, st.integers(0, 5), st.floats(0.0, 0.99), st.floats(0.3, 0.95))
def test_normalize_gives_unit_expected_scale(model, which, amplitude, momentum) -> None:
    s = _rules(model, amplitude, momentum, 0.2)[which]
    assert expected_scale(normalize(s, model), model) == pytest.approx(1.0, abs=1e-12)


@given(TAUS, st.floats(0.0, 5.0))
def test_inverse_and_exponential_are_non_increasing(tau, beta) -> None:
    t = np.sort(tau)
    assert np.all(np.diff(inverse()(t)) <= 0)
    assert np.all(np.diff(exponential(beta)(t)) <= 0)


def test_fleet_beta_meets_inverse_at_half_the_threshold() -> None:
    for m in (1, 4, 31):
        thr = m + 1
        assert fleet(workers=m)([thr / 2])[0] == pytest.approx(1 / (1 + thr / 2))
    with pytest.raises(ValueError, match="workers"):
        fleet()


def test_mindthestep_matches_geometric_momentum_and_reports_the_cap() -> None:
    # Geometric staleness with q = K needs no correction: s == 1 on the support.
    g = Geometric(0.6)
    s = mindthestep(g, momentum=0.6, cap=1e9)
    assert np.allclose(s(np.arange(20)), 1.0)
    # A lower target momentum dampens stale updates; the cap lowers E[s] below 1.
    capped = mindthestep(Poisson(7.0), momentum=0.5, cap=5.0)
    props = check_properties(capped, Poisson(7.0))
    assert props.max_scale == 5.0 and props.expected_scale < 1.0
    uncapped = mindthestep(Poisson(7.0), momentum=0.5, cap=1e300)
    assert check_properties(uncapped, Poisson(7.0)).expected_scale == pytest.approx(1.0, abs=1e-6)


def test_property_checker_flags_what_fails() -> None:
    p = [0.25, 0.25, 0.5]
    inc = check_properties(lambda t: 1.0 + np.asarray(t, dtype=float), p)
    assert not inc.non_increasing and inc.positive and not inc.magnitude_preserving
    assert inc.expected_scale == pytest.approx(1 + 0.25 + 1.0)
    zero = check_properties(tail_tau(p, amplitude=1.0, cdf="inclusive"), p)
    assert not zero.positive and zero.min_scale == 0.0


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: tail_tau([1.0], amplitude=1.5), "amplitude"),
        (lambda: tail_tau([1.0], amplitude=float("nan")), "amplitude"),
        (lambda: exponential(-1.0), "beta"),
        (lambda: mindthestep([1.0], momentum=1.0), "momentum"),
        (lambda: mindthestep([1.0], cap=0.0), "cap"),
        (lambda: tail_tau([0.3, 0.3]), "sum to 1"),
    ],
)
def test_bad_parameters_name_the_field(factory, match) -> None:
    with pytest.raises(ValueError, match=match):
        factory()


def test_negative_tau_is_rejected() -> None:
    with pytest.raises(ValueError, match="tau"):
        inverse()([-1])


def test_ringmaster_keeps_delays_below_r_and_its_r_defaults() -> None:
    from theory.spec import make_rule
    from theory.stepsize import ringmaster

    assert ringmaster(3)([0, 2, 3, 100]).tolist() == [1.0, 1.0, 0.0, 0.0]
    assert make_rule("ringmaster", threshold=1)([0, 1]).tolist() == [1.0, 0.0]
    assert make_rule("ringmaster", workers=4)([3, 4]).tolist() == [1.0, 0.0]  # R = workers
    # no workers: R = round(E[tau]) + 1 = 2 for a mean delay of 1.2
    assert make_rule("ringmaster", [0.2, 0.4, 0.4])([1, 2]).tolist() == [1.0, 0.0]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="threshold R"):
            ringmaster(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs workers or a pmf"):
        make_rule("ringmaster")
