"""Staleness models, staleness-adaptive step sizes, convergence bounds, and the Trace.

Every public name is importable from here (``from theory import Trace, tail_tau``); each is
loaded on first use, so importing one module stays cheap (see :mod:`theory.exports`).
"""

from theory.exports import lazy_exports

#: Module (under ``theory``) -> the public names it defines.
_MODULES: dict[str, tuple[str, ...]] = {
    "analysis": ("Tally", "cas_statistics", "staleness_pmf", "summarize", "throughput"),
    "bounds": ("BOUNDS", "BoundResult", "BoundSpec", "evaluate_bound"),
    "compare": ("Comparison", "compare_traces"),
    "delayed_sgd": ("DelayedSGDRun", "run_delayed_sgd"),
    "delays": ("DelayMoments", "delay_moments"),
    "distribution": ("Distribution",),
    "fitting": (
        "FitResult",
        "GoodnessOfFit",
        "fit_geometric",
        "fit_models",
        "fit_poisson",
        "goodness_of_fit",
        "homogeneity",
        "total_variation",
        "wasserstein1",
    ),
    "problems": ("KNOWN_PROBLEMS", "Quadratic", "known_problem", "least_squares", "random_quadratic"),
    "properties": ("StepSizeProperties", "check_properties", "expected_scale", "normalize"),
    "spec": ("RULES", "make_rule", "parse_pmf_spec"),
    "staleness": (
        "Empirical",
        "Geometric",
        "Poisson",
        "StalenessModel",
        "as_pmf",
        "geometric_for_workers",
        "poisson_for_workers",
        "truncated_pmf",
    ),
    "stepsize": (
        "StepSize",
        "constant",
        "cutoff",
        "exponential",
        "fleet",
        "inverse",
        "mindthestep",
        "tail_tau",
    ),
    "survival": ("km_quantile", "km_summary", "speedup_interval"),
    "trace": (
        "COLUMNS",
        "DERIVED",
        "RECORDED",
        "Trace",
        "constant_column",
        "empty_columns",
        "read_staleness",
    ),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)
__getattr__, __dir__ = lazy_exports(
    __name__, {name: f"theory.{module}" for module, names in _MODULES.items() for name in names}
)
