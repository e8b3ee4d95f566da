"""Parse the command line's staleness specifications (``SPEC``) and step-size rules.

``SPEC`` is one of ``poisson:LAMBDA``, ``poisson:m=M`` (``LAMBDA = M - 1``),
``geometric:Q``, ``geometric:m=M`` (``Q = 1 - 1/M``), ``pmf:P0,P1,...`` (probabilities of
``tau = 0, 1, ...``) or ``empirical:FILE`` (a saved Trace or a CSV column of tau).
"""

from __future__ import annotations

import numpy as np

from theory.staleness import (
    Empirical,
    Geometric,
    Poisson,
    StalenessModel,
    as_pmf,
    geometric_for_workers,
    poisson_for_workers,
)
from theory.stepsize import (
    CdfKind,
    StepSize,
    constant,
    cutoff,
    exponential,
    fleet,
    inverse,
    mindthestep,
    tail_tau,
)

__all__ = ["NEEDS_PMF", "RULES", "make_rule", "needs_pmf", "parse_pmf_spec"]

RULES = ("constant", "inverse", "exponential", "fleet", "tail", "mindthestep", "cutoff")
#: The rules built from a staleness pmf (a run takes it from its warm-up).
NEEDS_PMF = ("tail", "mindthestep", "cutoff")


def needs_pmf(name: str) -> bool:
    """Whether rule ``name`` (one of :data:`RULES`) is built from a staleness pmf."""
    if name not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {name!r}")
    return name in NEEDS_PMF


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number, got {text!r}") from None
    if not np.isfinite(value):
        raise ValueError(f"{what} must be finite, got {text!r}")
    return value


def _workers(text: str, what: str) -> int:
    m = _number(text, what)
    if m < 1 or m != int(m):
        raise ValueError(f"{what} must be an integer >= 1, got {text!r}")
    return int(m)


def parse_pmf_spec(spec: str) -> StalenessModel:
    """Turn ``SPEC`` into a staleness model; ``ValueError`` names what is wrong."""
    kind, sep, arg = spec.partition(":")
    if not sep or not arg:
        raise ValueError(
            f"pmf spec {spec!r} must look like poisson:LAMBDA, geometric:Q, pmf:P0,P1,... or empirical:FILE"
        )
    if kind == "poisson":
        if arg.startswith("m="):
            return poisson_for_workers(_workers(arg[2:], "poisson m"))
        lam = _number(arg, "poisson lambda")
        if lam < 0:
            raise ValueError(f"poisson lambda must be >= 0, got {arg}")
        return Poisson(lam)
    if kind == "geometric":
        if arg.startswith("m="):
            return geometric_for_workers(_workers(arg[2:], "geometric m"))
        q = _number(arg, "geometric q")
        if not 0 <= q < 1:
            raise ValueError(f"geometric q must be in [0, 1), got {arg}")
        return Geometric(q)
    if kind == "pmf":
        probs = [_number(x, "pmf entry") for x in arg.split(",")]
        return Empirical.from_pmf(probs)
    if kind == "empirical":
        try:
            from theory.trace import read_staleness  # pandas: only for empirical:FILE

            samples = read_staleness(arg)
        except (OSError, KeyError) as exc:
            raise ValueError(f"cannot read staleness from {arg!r}: {exc}") from None
        return Empirical.from_samples(samples)
    raise ValueError(f"pmf spec kind must be poisson, geometric, pmf or empirical, got {kind!r}")


def make_rule(
    name: str,
    pmf: StalenessModel | None = None,
    *,
    amplitude: float = 0.5,
    momentum: float | None = None,
    beta: float | None = None,
    workers: int | None = None,
    cap: float = 10.0,
    cdf: CdfKind = "strict",
) -> StepSize:
    """Build rule ``name`` (one of :data:`RULES`); ``tail``, ``mindthestep`` and ``cutoff``
    need ``pmf``.

    ``fleet`` takes ``workers`` or, failing that, ``round(E[tau]) + 1`` from ``pmf``.
    """
    if name == "constant":
        return constant()
    if name == "inverse":
        return inverse()
    if name == "exponential":
        if beta is None:
            raise ValueError("the exponential rule needs beta")
        return exponential(beta)
    if name == "fleet":
        if workers is None:
            if pmf is None:
                raise ValueError("the fleet rule needs workers or a pmf")
            workers = round(float(np.dot(np.arange(as_pmf(pmf).size), as_pmf(pmf)))) + 1
        return fleet(workers=workers)
    if name in NEEDS_PMF:
        if pmf is None:
            raise ValueError(f"the {name} rule needs a staleness pmf")
        if name == "tail":
            return tail_tau(pmf, amplitude=amplitude, cdf=cdf)
        if name == "cutoff":
            return cutoff(pmf)
        return mindthestep(pmf, momentum=momentum, cap=cap)
    raise ValueError(f"rule must be one of {', '.join(RULES)}, got {name!r}")
