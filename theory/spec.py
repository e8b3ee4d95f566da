"""Parse the command line's staleness specifications (``SPEC``) and step-size rules.

``SPEC`` is one of ``poisson:LAMBDA``, ``poisson:m=M`` (``LAMBDA = M - 1``),
``geometric:Q``, ``geometric:m=M`` (``Q = 1 - 1/M``), ``pmf:P0,P1,...`` (probabilities of
``tau = 0, 1, ...``) or ``empirical:FILE`` (a saved Trace or a CSV column of tau).
:func:`make_rule` builds a rule of the registry :data:`theory.stepsize.RULES` by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory.staleness import (
    Empirical,
    Geometric,
    PmfLike,
    Poisson,
    StalenessModel,
    geometric_for_workers,
    poisson_for_workers,
)
from theory.stepsize import RULES, RuleOptions, StepSize

__all__ = ["RULES", "check_rule", "make_rule", "needs_pmf", "parse_pmf_spec"]


def check_rule(name: str) -> str:
    """``name`` if it is a rule of :data:`~theory.stepsize.RULES`, else ``ValueError`` naming
    the choices.

    >>> check_rule("tail")
    'tail'
    """
    if name not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {name!r}")
    return name


def needs_pmf(name: str) -> bool:
    """Whether rule ``name`` (one of :data:`~theory.stepsize.RULES`) is built from a staleness pmf."""
    return RULES[check_rule(name)].needs_pmf


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


def make_rule(name: str, pmf: StalenessModel | PmfLike | None = None, **options: Any) -> StepSize:
    """Build rule ``name`` of :data:`~theory.stepsize.RULES` from ``pmf`` and ``options``
    (fields of :class:`~theory.stepsize.RuleOptions`; ``None`` keeps a field's default).

    ``ValueError`` naming the choices for an unknown rule, or saying that the rule needs a
    pmf when it was given none.

    >>> make_rule("inverse")([0, 3]).tolist()
    [1.0, 0.25]
    """
    rule = RULES[check_rule(name)]
    if rule.needs_pmf and pmf is None:
        raise ValueError(f"the {name} rule needs a staleness pmf")
    given = {key: value for key, value in options.items() if value is not None}
    return rule.build(RuleOptions(pmf=pmf, **given))
