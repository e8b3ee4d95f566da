"""Timing models: any frozen ``scipy.stats`` distribution, or a constant.

A duration is described on the command line and in profiles as ``NAME:k=v,...`` naming a
``scipy.stats`` distribution (``expon:scale=1``, ``gamma:a=4,scale=0.25``,
``lognorm:s=0.5,scale=1``) or ``const:VALUE``. Any object with ``.rvs(size, random_state)``
(``size`` an int or a shape tuple) and ``.mean()`` is accepted as a timing model: the
protocol of :class:`theory.distribution.Distribution`, shared with the staleness models.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from theory.distribution import Distribution

__all__ = [
    "Constant",
    "EmpiricalTiming",
    "PhaseDraws",
    "Sampler",
    "describe",
    "draw",
    "parse_timing",
    "take_together",
]


@dataclass(frozen=True)
class Constant:
    """A constant duration (``const:VALUE``)."""

    value: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.value) and self.value >= 0):
            raise ValueError(f"a constant duration must be a finite number >= 0, got {self.value}")

    def rvs(
        self, size: int | tuple[int, ...], random_state: np.random.Generator | None = None
    ) -> npt.NDArray[np.float64]:
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

    def rvs(
        self, size: int | tuple[int, ...], random_state: np.random.Generator | None = None
    ) -> npt.NDArray[np.float64]:
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


def parse_timing(spec: str | float | Distribution) -> Distribution:
    """Turn ``NAME:k=v,...``, ``const:VALUE`` or a number into a timing model."""
    if isinstance(spec, int | float):
        return Constant(float(spec))
    if not isinstance(spec, str):
        if isinstance(spec, Distribution):
            return spec
        raise ValueError(f"a timing model needs .rvs(size, random_state), got {type(spec).__name__}")
    name, _, rest = spec.partition(":")
    name = name.strip()
    if name == "const":
        try:
            return Constant(float(rest))
        except ValueError:
            raise ValueError(f"timing {spec!r}: const needs a number, e.g. const:0.5") from None
    from scipy import stats  # only when a distribution is named

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


def describe(model: Distribution) -> str:
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


#: scipy distributions whose ``rvs`` is one call of the numpy generator times ``scale``
#: (``scipy.stats``' ``_rvs`` of each), with the shape parameters that call takes.
_STANDARD_DRAWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "gamma": ("standard_gamma", ("a",)),
    "expon": ("standard_exponential", ()),
}


def draw(
    model: Distribution,
    size: tuple[int, int],
    rng: np.random.Generator,
    out: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]:
    """``model.rvs(size=size, random_state=rng)``, bit for bit, written into ``out`` (a
    C-contiguous float64 array of shape ``size``) when given.

    For a frozen scipy gamma or exponential given by keywords without ``loc`` (what
    :func:`parse_timing` builds) this calls the numpy generator as scipy does, standard
    draws times ``scale`` (scipy adds ``loc = 0``, which changes no non-negative number),
    without scipy's argument checks and temporaries, straight into ``out``: a third of the
    cost of 10^5 draws, and no fresh memory beside ``out`` for a long run's blocks.
    """
    kwds: dict[str, Any] = getattr(model, "kwds", None) or {}
    standard = _STANDARD_DRAWS.get(getattr(getattr(model, "dist", None), "name", ""))
    if standard is not None and not getattr(model, "args", ()) and kwds.get("loc", 0) == 0:
        method, shapes = standard
        if set(kwds) <= {*shapes, "scale", "loc"} and all(k in kwds for k in shapes):
            scale = float(kwds.get("scale", 1.0))
            values = [float(kwds[k]) for k in shapes]
            if scale > 0 and all(v > 0 for v in values):  # else scipy's own checks and errors
                drawn = getattr(rng, method)(*values, size=size, out=out)
                if scale != 1.0:  # x * 1.0 == x: no pass over the block for it
                    drawn *= scale
                return drawn
    drawn = model.rvs(size=size, random_state=rng)
    if out is None:
        return np.array(drawn, dtype=np.float64)  # a copy the caller may scale in place
    out[...] = drawn
    return out


class PhaseDraws:
    """The durations of one phase (compute, read or publish) for all workers, drawn in blocks.

    Block ``j`` is one call ``model.rvs(size=(rows, workers))`` times each worker's scale:
    worker ``i``'s ``k``-th duration is ``block[k // rows][k % rows, i]``. One call per block
    (rather than per worker) keeps the cost of drawing low, and because the blocks are the
    same however the draws are consumed, an event loop taking one duration at a time
    (:meth:`sampler`) and a vectorized engine taking them all at once (:meth:`take`) see the
    same numbers. A block is freed once every worker has moved past it.
    """

    __slots__ = ("_blocks", "_model", "_passed", "_rng", "_unit", "constant", "rows", "scales")

    def __init__(
        self, model: Distribution, rng: np.random.Generator | None, scales: npt.ArrayLike, rows: int
    ) -> None:
        self._model, self._rng = model, rng
        self.scales = np.asarray(scales, dtype=np.float64)
        self._unit = bool(np.all(self.scales == 1.0))
        if rows < 1:
            raise ValueError(f"rows per block must be >= 1, got {rows}")
        self.rows = rows
        self.constant: float | None = model.value if isinstance(model, Constant) else None
        self._blocks: list[npt.NDArray[np.float64] | None] = []
        self._passed: list[int] = []

    @property
    def workers(self) -> int:
        return self.scales.size

    def block(self, j: int) -> npt.NDArray[np.float64]:
        """Block ``j`` (``rows x workers``), drawing the blocks up to it if needed."""
        while len(self._blocks) <= j:
            self._blocks.append(self._draw(None))
            self._passed.append(0)
        block = self._blocks[j]
        if block is None:
            raise RuntimeError(f"block {j} was freed: every worker had moved past it")
        return block

    def _draw(self, out: npt.NDArray[np.float64] | None) -> npt.NDArray[np.float64]:
        """The next block of the stream, written into ``out`` when given (``rows x workers``)."""
        if self._rng is None:
            raise ValueError("a random timing model needs a random generator")
        size = (self.rows, self.workers)
        draws = draw(self._model, size, self._rng, out)
        if not (draws.min() >= 0 and np.isfinite(draws.max())):  # NaN fails the first test
            raise ValueError("a timing model drew a negative or non-finite duration")
        if not self._unit:  # x * 1.0 == x: no product when no worker is scaled
            draws *= self.scales
        return draws

    def _release(self, j: int) -> None:
        self._passed[j] += 1
        if self._passed[j] == self.workers:
            self._blocks[j] = None

    def sampler(self, worker: int) -> Sampler:
        """A callable returning ``worker``'s next duration."""
        return Sampler(self, worker)

    def take(self, n: int) -> npt.NDArray[np.float64]:
        """Every worker's first ``n`` durations, an ``(n, workers)`` array (column = worker).

        A constant phase gives a read-only broadcast view, not a copy. The result may share
        memory with the blocks kept for later calls: write into it only when these draws
        are not used again.
        """
        if self.constant is not None:
            return np.broadcast_to(self.constant * self.scales, (n, self.workers))
        count = -(-n // self.rows)
        if count == 1:
            return self.block(0)[:n]
        # Blocks not drawn yet are drawn straight into the result, which then holds them (no
        # copy of them, no concatenation: fresh memory is much of a long run's cost).
        out = np.empty((count * self.rows, self.workers))
        for j in range(count):
            part = out[j * self.rows : (j + 1) * self.rows]
            if j < len(self._blocks):
                part[...] = self.block(j)
            else:
                self._blocks.append(self._draw(part))
                self._passed.append(0)
        return out[:n]


#: Random durations (all workers') from which :func:`take_together` draws each phase in a
#: thread of its own: enough values that drawing them takes far longer than handing them
#: to a thread.
TOGETHER = 2**15

_pool: ThreadPoolExecutor | None = None  # two threads: with the caller's, one per phase
_pool_pid = 0


def take_together(phases: Sequence[PhaseDraws], rows: Sequence[int]) -> list[npt.NDArray[np.float64]]:
    """``[phase.take(n) for phase, n in zip(phases, rows)]``, the same numbers, with the random
    phases drawn at once, each in a thread of its own, where there are two or more, more than
    one core, and :data:`TOGETHER` draws or more each. Each phase has its own stream, and
    numpy's generators release the interpreter lock while they fill an array, so the threads
    draw in parallel (and fault in their fresh pages in parallel)."""
    global _pool, _pool_pid
    random = [i for i, p in enumerate(phases) if p.constant is None and rows[i] * p.workers >= TOGETHER]
    if len(random) < 2 or len(os.sched_getaffinity(0)) < 2:
        return [phase.take(n) for phase, n in zip(phases, rows, strict=True)]
    if _pool is None or _pool_pid != os.getpid():  # a forked child has none of the parent's threads
        _pool, _pool_pid = ThreadPoolExecutor(max_workers=2, thread_name_prefix="draws"), os.getpid()
    futures = {i: _pool.submit(phases[i].take, rows[i]) for i in random[1:]}
    here = {i: phases[i].take(rows[i]) for i in range(len(phases)) if i not in futures}
    return [here[i] if i in here else futures[i].result() for i in range(len(phases))]


class Sampler:
    """One worker's durations of one phase, one at a time (fast inside an event loop)."""

    __slots__ = ("_block", "_draws", "_it", "_worker", "constant")

    def __init__(self, draws: PhaseDraws, worker: int) -> None:
        self._draws, self._worker = draws, worker
        c = draws.constant
        self.constant: float | None = None if c is None else c * float(draws.scales[worker])
        self._block = -1
        self._it: Iterator[float] = iter(())

    def __call__(self) -> float:
        if self.constant is not None:
            return self.constant
        try:
            return next(self._it)
        except StopIteration:
            if self._block >= 0:
                self._draws._release(self._block)
            self._block += 1
            self._it = iter(self._draws.block(self._block)[:, self._worker].tolist())
            return next(self._it)
