"""ASAP.SGD-style properties of a step-size function for a given staleness pmf.

ASAP.SGD (Backstrom et al.) asks of a staleness-adaptive scale ``s``: positive; bounded;
magnitude preserving, ``E_P[s] = sum_tau P(tau) s(tau) = 1``, so the overall step size is
that of ``eta0``; and non-increasing in ``tau`` where it is meant to dampen. This module
checks them on the pmf's support and rescales any ``s`` to ``E_P[s] = 1``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from theory.staleness import PmfLike, as_pmf
from theory.stepsize import StepSize

__all__ = ["StepSizeProperties", "check_properties", "expected_scale", "normalize"]

#: Tolerance for "E_P[s] = 1" and for monotonicity comparisons.
TOLERANCE = 1e-9


def expected_scale(s: StepSize, pmf: PmfLike) -> float:
    """``E_P[s] = sum_tau P(tau) s(tau)``."""
    p = as_pmf(pmf)
    return float(np.dot(p, s(np.arange(p.size))))


def normalize(s: StepSize, pmf: PmfLike) -> StepSize:
    """Rescale ``s`` to ``s / E_P[s]`` so that ``E_P[s] = 1``.

    >>> from theory.stepsize import inverse
    >>> round(expected_scale(normalize(inverse(), [0.5, 0.5]), [0.5, 0.5]), 12)
    1.0
    """
    e = expected_scale(s, pmf)
    if not (np.isfinite(e) and e > 0.0):
        raise ValueError(f"cannot normalize: E_P[s] = {e} is not a positive number")

    def scaled(tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return s(tau) / e

    return scaled


@dataclass(frozen=True)
class StepSizeProperties:
    """Which ASAP.SGD properties ``s`` has on the support of a pmf."""

    positive: bool
    bounded: bool
    min_scale: float
    max_scale: float
    expected_scale: float
    magnitude_preserving: bool
    non_increasing: bool
    support_max: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def check_properties(s: StepSize, pmf: PmfLike) -> StepSizeProperties:
    """Evaluate ``s`` on ``tau = 0..N`` (the pmf's support) and report its properties.

    >>> from theory.stepsize import constant
    >>> props = check_properties(constant(), [0.25, 0.75])
    >>> props.magnitude_preserving, props.non_increasing
    (True, True)
    """
    p = as_pmf(pmf)
    values = s(np.arange(p.size))
    finite = bool(np.all(np.isfinite(values)))
    e = float(np.dot(p, values))
    return StepSizeProperties(
        positive=bool(np.all(values > 0)),
        bounded=finite,
        min_scale=float(values.min()),
        max_scale=float(values.max()),
        expected_scale=e,
        magnitude_preserving=bool(abs(e - 1.0) <= TOLERANCE),
        non_increasing=bool(np.all(np.diff(values) <= TOLERANCE)),
        support_max=int(p.size - 1),
    )
