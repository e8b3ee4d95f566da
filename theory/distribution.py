"""The one protocol for "a distribution" in asgd: that of scipy's frozen distributions.

Durations in the simulator (compute, read, publish times) and delays in the theory
(staleness models) are both described by an object with ``rvs(size, random_state)`` and
``mean()``, as a frozen ``scipy.stats`` distribution has. Any such object can be passed
where asgd asks for a timing model, and every staleness model satisfies it as well.

>>> from scipy import stats
>>> isinstance(stats.expon(scale=2.0), Distribution)
True
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = ["Distribution"]


@runtime_checkable
class Distribution(Protocol):
    """Anything that draws samples and knows its mean, like a frozen scipy distribution."""

    def rvs(self, size: int | tuple[int, ...], random_state: np.random.Generator) -> npt.NDArray[np.generic]:
        """Draw ``size`` samples (an int or a shape) with ``random_state``."""
        ...

    def mean(self) -> float:
        """The expected value."""
        ...
