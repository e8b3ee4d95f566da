"""Staleness models, staleness-adaptive step sizes and convergence bounds for async SGD."""

from theory.bounds import BOUNDS, BoundResult, BoundSpec, evaluate_bound
from theory.delayed_sgd import DelayedSGDRun, run_delayed_sgd
from theory.delays import DelayMoments, delay_moments
from theory.fitting import (
    FitResult,
    GoodnessOfFit,
    fit_geometric,
    fit_models,
    fit_poisson,
    goodness_of_fit,
    total_variation,
    wasserstein1,
)
from theory.problems import Quadratic, least_squares, random_quadratic
from theory.properties import StepSizeProperties, check_properties, expected_scale, normalize
from theory.spec import RULES, make_rule, parse_pmf_spec
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
from theory.stepsize import StepSize, constant, exponential, fleet, inverse, mindthestep, tail_tau
from theory.trace import COLUMNS, Trace, read_staleness

__all__ = [
    "BOUNDS",
    "COLUMNS",
    "RULES",
    "BoundResult",
    "BoundSpec",
    "DelayMoments",
    "DelayedSGDRun",
    "Empirical",
    "FitResult",
    "Geometric",
    "GoodnessOfFit",
    "Poisson",
    "Quadratic",
    "StalenessModel",
    "StepSize",
    "StepSizeProperties",
    "Trace",
    "as_pmf",
    "check_properties",
    "constant",
    "delay_moments",
    "evaluate_bound",
    "expected_scale",
    "exponential",
    "fit_geometric",
    "fit_models",
    "fit_poisson",
    "fleet",
    "geometric_for_workers",
    "goodness_of_fit",
    "inverse",
    "least_squares",
    "make_rule",
    "mindthestep",
    "normalize",
    "parse_pmf_spec",
    "poisson_for_workers",
    "random_quadratic",
    "read_staleness",
    "run_delayed_sgd",
    "tail_tau",
    "total_variation",
    "truncated_pmf",
    "wasserstein1",
]
