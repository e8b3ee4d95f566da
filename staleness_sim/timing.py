"""Timing models: any frozen ``scipy.stats`` distribution, or a constant.

A duration is described on the command line and in profiles as ``NAME:k=v,...`` naming a
``scipy.stats`` distribution (``expon:scale=1``, ``gamma:a=4,scale=0.25``,
``lognorm:s=0.5,scale=1``) or ``const:VALUE``. Any object with ``.rvs(size, random_state)``
is accepted as a timing model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = ["Constant", "EmpiricalTiming", "Sampler", "TimingModel", "describe", "parse_timing"]

_BATCH = 16384


@runtime_checkable
class TimingModel(Protocol):
    """Anything that draws non-negative durations like a frozen scipy distribution."""

    def rvs(self, size: int, random_state: np.random.Generator) -> npt.NDArray[np.float64]: ...

    def mean(self) -> float: ...


@dataclass(frozen=True)
class Constant:
    """A constant duration (``const:VALUE``)."""

    value: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.value) and self.value >= 0):
            raise ValueError(f"a constant duration must be a finite number >= 0, got {self.value}")

    def rvs(self, size: int, random_state: np.random.Generator | None = None) -> npt.NDArray[np.float64]:
        return np.full(size, self.value)

    def mean(self) -> float:
        return self.value


@dataclass(frozen=True, eq=False)
class EmpiricalTiming:
    """Durations resampled (with replacement) from measured ones, e.g. from a real run."""

    samples: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        x = np.asarray(self.samples, dtype=np.float64)
        if x.size == 0 or not np.all(np.isfinite(x)) or np.any(x < 0):
            raise ValueError("empirical durations must be a non-empty array of finite numbers >= 0")
        object.__setattr__(self, "samples", x)

    def rvs(self, size: int, random_state: np.random.Generator | None = None) -> npt.NDArray[np.float64]:
        rng = random_state if random_state is not None else np.random.default_rng()
        return self.samples[rng.integers(0, self.samples.size, size)]

    def mean(self) -> float:
        return float(self.samples.mean())


def _kwargs(text: str, spec: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in filter(None, text.split(",")):
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"timing {spec!r}: parameters must look like k=v, got {part!r}")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise ValueError(f"timing {spec!r}: parameter {key.strip()} must be a number") from None
        if not np.isfinite(out[key.strip()]):
            raise ValueError(f"timing {spec!r}: parameter {key.strip()} must be finite")
    return out


def parse_timing(spec: str | float | TimingModel) -> TimingModel:
    """Turn ``NAME:k=v,...``, ``const:VALUE`` or a number into a timing model."""
    if isinstance(spec, int | float):
        return Constant(float(spec))
    if not isinstance(spec, str):
        if isinstance(spec, TimingModel):
            return spec
        raise ValueError(f"a timing model needs .rvs(size, random_state), got {type(spec).__name__}")
    name, _, rest = spec.partition(":")
    name = name.strip()
    if name == "const":
        try:
            return Constant(float(rest))
        except ValueError:
            raise ValueError(f"timing {spec!r}: const needs a number, e.g. const:0.5") from None
    dist = getattr(stats, name, None)
    if not isinstance(dist, stats.rv_continuous):
        raise ValueError(
            f"timing {spec!r}: {name!r} is not a continuous scipy.stats distribution "
            "(try expon:scale=1, gamma:a=4,scale=0.25, lognorm:s=0.5,scale=1 or const:0.1)"
        )
    try:
        frozen = dist(**_kwargs(rest, spec))
        low = float(frozen.support()[0])
        mean = float(frozen.mean())
    except TypeError as exc:
        raise ValueError(f"timing {spec!r}: {exc}") from None
    if not np.isfinite(low) or low < 0 or not np.isfinite(mean):
        raise ValueError(f"timing {spec!r}: durations must be >= 0 with a finite mean")
    return frozen


def describe(model: TimingModel) -> str:
    """The ``NAME:k=v`` form of a model, for reports."""
    if isinstance(model, Constant):
        return f"const:{model.value:g}"
    if isinstance(model, EmpiricalTiming):
        return f"empirical:n={model.samples.size},mean={model.mean():.4g}"
    dist: Any = getattr(model, "dist", None)
    kwds: dict[str, Any] = getattr(model, "kwds", {})
    if dist is None:
        return type(model).__name__
    params = ",".join(f"{k}={v:g}" for k, v in kwds.items())
    return f"{dist.name}:{params}"


class Sampler:
    """Draws durations one at a time from batches (fast inside a simulation loop)."""

    __slots__ = ("_it", "_model", "_rng", "_scale", "constant")

    def __init__(self, model: TimingModel, rng: np.random.Generator, scale: float = 1.0) -> None:
        self._model, self._rng, self._scale = model, rng, scale
        self.constant: float | None = model.value * scale if isinstance(model, Constant) else None
        self._it: Iterator[float] = iter(())

    def _batch(self) -> npt.NDArray[np.float64]:
        draws = np.asarray(self._model.rvs(size=_BATCH, random_state=self._rng), dtype=np.float64)
        if not (draws.min() >= 0 and np.isfinite(draws.max())):  # NaN fails the first test
            raise ValueError("a timing model drew a negative or non-finite duration")
        return draws * self._scale

    def __call__(self) -> float:
        if self.constant is not None:
            return self.constant
        try:
            return next(self._it)
        except StopIteration:
            self._it = iter(self._batch().tolist())
            return next(self._it)

    def take(self, n: int) -> npt.NDArray[np.float64]:
        """The next ``n`` durations at once, exactly as ``n`` calls would return them.

        Only valid on a fresh sampler (it draws whole batches from the start of the stream).
        """
        if self.constant is not None:
            return np.full(n, self.constant)
        batches = [self._batch() for _ in range(-(-n // _BATCH))]
        return np.concatenate(batches)[:n] if batches else np.zeros(0)
