"""Time to epsilon under the fixed computation model: seconds, not iterations.

Worker ``i`` needs ``tau_i`` seconds per stochastic gradient (sorted, ``tau_1 <= ... <=
tau_n``); ``f`` is L-smooth with ``Delta = f(x0) - f*``, gradient noise variance ``sigma2``,
and the target is ``(1/K) sum_k E||grad f(x_k)||^2 <= epsilon`` (the quantity of the
non-convex bound of :mod:`theory.bounds`). Each method's time is its iterations ``K`` times
what the hardware needs to deliver them (Tyurin & Richtarik, NeurIPS 2023; Maranjyan,
Tyurin & Richtarik, ICML 2025):

* ``minibatch`` (synchronous SGD): every round waits for all ``n``; ``K(batch n) tau_n``.
* ``asynchronous`` (constant step, all ``n`` workers): ``(K + n) / sum_i 1/tau_i``, with ``K``
  from the delayed-SGD bound at the largest delay the hardware allows,
  ``tau_max = sum_{j < n} (floor(tau_n / tau_j) + 1)`` (the updates of the others during one
  gradient of the slowest), by the tighter of the ``classic`` and ``workers`` theorems.
* ``ringmaster`` (Ringmaster ASGD, threshold ``R``: a gradient with delay ``>= R`` is
  discarded): ``ceil(K / R) t(R)``, ``K`` from the bound at ``tau_max = R - 1``;
  ``t(R) = min_m (R + 2m) / sum_{i <= m} 1/tau_i`` bounds any ``R`` consecutive updates.
* ``rennala`` (Rennala SGD, batch ``S`` of gradients at the current point):
  ``K(batch S) t(S)``.

``K(batch B)`` is the non-convex bound of :mod:`theory.bounds` with no delay and noise
``sigma2 / B``; each ``K`` uses the step that bound chooses. ``R`` and ``S`` are chosen
to minimize the time. Every constant is derived in docs/theory.md ("Time to epsilon"); the
time per ``R`` updates is the papers' lemma with ``2m`` in place of their ``2 (R + m)``.
The papers' rates (no constants) come with :func:`rate`; the lower bound is
``min_m H_m (L Delta / eps + sigma2 L Delta / (m eps^2))``, ``H_m = ((1/m) sum_{i<=m}
1/tau_i)^-1``, reached (up to constants) by Rennala and Ringmaster without knowing the
``tau_i``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from theory.bounds import BoundResult, evaluate_bound
from theory.delays import delay_moments

__all__ = [
    "METHODS",
    "SPEED_PATTERNS",
    "Objective",
    "TimeBound",
    "asynchronous_max_delay",
    "check_times",
    "collect_time",
    "harmonic_means",
    "rate",
    "speed_pattern",
    "time_bounds",
    "times_from_trace",
]


@dataclass(frozen=True)
class Objective:
    """``L``, ``sigma2``, ``Delta = f(x0) - f*`` and the target ``epsilon``."""

    lsmooth: float
    sigma2: float
    f0: float
    epsilon: float

    def __post_init__(self) -> None:
        for name, value, zero in (
            ("L", self.lsmooth, False),
            ("sigma2", self.sigma2, True),
            ("f0", self.f0, True),
            ("epsilon", self.epsilon, False),
        ):
            ok = math.isfinite(value) and (value >= 0 if zero else value > 0)
            if not ok:
                raise ValueError(f"{name} must be a finite number {'>= 0' if zero else '> 0'}, got {value}")


@dataclass(frozen=True)
class TimeBound:
    """One method's time to epsilon: ``time`` (seconds) after ``iterations`` steps with step
    ``eta``; ``parameter`` (``batch``, ``R``, ``S``) = ``value``; ``workers_used`` the ``m``
    of the time per step (the fastest ``m`` workers deliver the work); ``rate`` the
    papers' expression without constants."""

    method: str
    time: float
    iterations: float
    eta: float
    parameter: str
    value: int
    workers_used: int
    rate: float
    gradients: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def check_times(tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The compute times sorted, or ``ValueError`` unless finite, positive and non-empty.

    >>> check_times([2, 1]).tolist()
    [1.0, 2.0]
    """
    t = np.sort(np.asarray(tau, dtype=np.float64).ravel())
    if t.size == 0:
        raise ValueError("give at least one worker's compute time")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"compute times must be finite and > 0, got {t.tolist()}")
    return t


def harmonic_means(tau: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``H_m = ((1/m) sum_{i <= m} 1/tau_i)^-1`` for ``m = 1..n`` (fastest first).

    >>> harmonic_means([1, 1, 4]).round(3).tolist()
    [1.0, 1.0, 1.333]
    """
    t = check_times(tau)
    return np.arange(1, t.size + 1) / np.cumsum(1.0 / t)


def collect_time(tau: npt.ArrayLike, count: int) -> tuple[float, int]:
    """A time within which ``count`` fresh gradients arrive, and the ``m`` that gives it:
    ``min_m (count + 2m) / sum_{i <= m} 1/tau_i``.

    From any moment, worker ``i`` finishes what it was computing within ``tau_i`` and one
    gradient every ``tau_i`` after that: ``floor(t/tau_i) - 1 >= t/tau_i - 2`` new ones by
    ``t``; the fastest ``m`` give ``count`` of them by the time above (derived here; the
    papers' lemma has ``2 (count + m)`` in the numerator).

    >>> collect_time([1.0, 1.0, 100.0], 4)
    (4.0, 2)
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    t = check_times(tau)
    m = np.arange(1, t.size + 1)
    times = (count + 2.0 * m) / np.cumsum(1.0 / t)
    best = int(np.argmin(times))
    return float(times[best]), best + 1


def asynchronous_max_delay(tau: npt.ArrayLike) -> int:
    """The largest delay asynchronous SGD on all workers can see: the updates the others
    apply during one gradient of the slowest, ``sum_{j < n} (floor(tau_n / tau_j) + 1)`` (a
    closed interval of length ``tau_n`` holds at most that many ends of a period ``tau_j``).

    >>> asynchronous_max_delay([1.0, 1.0, 2.5])
    6
    """
    t = check_times(tau)
    return int(np.sum(np.floor(t[-1] / t[:-1]) + 1))


def rate(tau: npt.ArrayLike, objective: Objective, workers: int | None = None) -> tuple[float, int]:
    """The papers' expression ``H_m (L Delta/eps + sigma2 L Delta/(m eps^2))``, no
    constants: at ``m = workers`` if given (asynchronous SGD: ``n``), else its minimum over
    ``m`` (the lower bound), with the ``m`` used.

    >>> rate([1.0, 1.0, 100.0], Objective(1.0, 0.0, 1.0, 1.0))
    (1.0, 1)
    """
    h = harmonic_means(tau)
    o = objective
    m = np.arange(1, h.size + 1)
    values = h * (o.lsmooth * o.f0 / o.epsilon + o.sigma2 * o.lsmooth * o.f0 / (m * o.epsilon**2))
    if workers is not None:
        if not 1 <= workers <= h.size:
            raise ValueError(f"workers must be in 1..{h.size}, got {workers}")
        return float(values[workers - 1]), workers
    best = int(np.argmin(values))
    return float(values[best]), best + 1


def _sgd(
    objective: Objective, *, batch: int = 1, tau_max: int = 0, workers: int | None = None
) -> BoundResult:
    """The non-convex bound of :mod:`theory.bounds` for averaged batches of ``batch``
    gradients (noise ``sigma2 / batch``) and delays up to ``tau_max``: by the ``classic``
    theorem, or with ``workers`` by the ``workers`` theorem (at most that many gradients in
    flight)."""
    o = objective
    return evaluate_bound(
        "nonconvex",
        lsmooth=o.lsmooth,
        sigma2=o.sigma2 / batch,
        f0=o.f0,
        eps=o.epsilon,
        delays=delay_moments(tau_max=tau_max, workers=workers),
        theorem="classic" if workers is None else "workers",
    )


def _candidates(upper: int) -> list[int]:
    """Integers 1..upper: all of them up to 64, then a geometric grid."""
    small = list(range(1, min(upper, 64) + 1))
    if upper <= 64:
        return small
    return sorted(set(small) | {round(v) for v in np.geomspace(64, upper, 48)})


def _search(upper: int, time_of: Callable[[int], TimeBound]) -> TimeBound:
    """The candidate with the least time, then every integer between its grid neighbours."""
    grid = _candidates(upper)
    found = [time_of(v) for v in grid]
    best = int(np.argmin([f.time for f in found]))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    between = [v for v in range(lo, hi + 1) if v not in grid]
    if len(between) > 256:
        between = sorted({round(v) for v in np.geomspace(lo, hi, 256)} - set(grid))
    return min([found[best], *(time_of(v) for v in between)], key=lambda f: (f.time, f.value))


def _upper(objective: Objective, n: int) -> int:
    """Where the searches for ``R`` and ``S`` stop: past ``sigma2/eps``, whose multiples the
    papers choose, and past the workers."""
    return int(min(1e7, max(4 * n, 16, math.ceil(8 * objective.sigma2 / objective.epsilon))))


def _minibatch(tau: npt.NDArray[np.float64], o: Objective) -> TimeBound:
    n = tau.size
    r = _sgd(o, batch=n)
    k = r.iterations_to_epsilon or 0.0
    return TimeBound(
        "minibatch", float(k * tau[-1]), k, r.eta, "batch", n, n, rate([tau[-1]] * n, o, n)[0], k * n
    )


def _asynchronous(tau: npt.NDArray[np.float64], o: Objective) -> TimeBound:
    n = tau.size
    tau_max = asynchronous_max_delay(tau) if n > 1 else 0
    results = [_sgd(o, tau_max=tau_max)]
    if n > 1:
        results.append(_sgd(o, tau_max=tau_max, workers=n))
    r = min(results, key=lambda b: b.iterations_to_epsilon or 0.0)
    k = r.iterations_to_epsilon or 0.0
    time = (k + n) / float(np.sum(1.0 / tau))
    return TimeBound("asynchronous", time, k, r.eta, "workers", n, n, rate(tau, o, n)[0], k)


def _ringmaster(tau: npt.NDArray[np.float64], o: Objective) -> TimeBound:
    optimum = rate(tau, o)[0]

    def at(r: int) -> TimeBound:
        b = _sgd(o, tau_max=r - 1)
        k = b.iterations_to_epsilon or 0.0
        window, m = collect_time(tau, r)
        return TimeBound("ringmaster", math.ceil(k / r) * window, k, b.eta, "R", r, m, optimum, k)

    return _search(_upper(o, tau.size), at)


def _rennala(tau: npt.NDArray[np.float64], o: Objective) -> TimeBound:
    optimum = rate(tau, o)[0]

    def at(s: int) -> TimeBound:
        b = _sgd(o, batch=s)
        k = b.iterations_to_epsilon or 0.0
        step, m = collect_time(tau, s)
        return TimeBound("rennala", k * step, k, b.eta, "S", s, m, optimum, k * s)

    return _search(_upper(o, tau.size), at)


#: Method name -> its time to epsilon on sorted compute times.
METHODS: dict[str, Callable[[npt.NDArray[np.float64], Objective], TimeBound]] = {
    "minibatch": _minibatch,
    "asynchronous": _asynchronous,
    "ringmaster": _ringmaster,
    "rennala": _rennala,
}


def time_bounds(
    tau: npt.ArrayLike, objective: Objective, methods: Sequence[str] | None = None
) -> list[TimeBound]:
    """Every method's (or those named) time to epsilon on compute times ``tau``."""
    t = check_times(tau)
    chosen = list(METHODS) if methods is None else list(methods)
    unknown = [m for m in chosen if m not in METHODS]
    if unknown:
        raise ValueError(f"methods must be among {', '.join(METHODS)}, got {', '.join(unknown)}")
    return [METHODS[m](t, objective) for m in chosen]


def times_from_trace(trace: object) -> npt.NDArray[np.float64]:
    """Each worker's seconds per gradient in a Trace: its span from first read to last
    gradient over the gradients it computed (dropped ones included: they cost the time)."""
    table = trace.table  # type: ignore[attr-defined]
    if len(table) == 0:
        raise ValueError("the trace has no gradients")
    spans = table.groupby("worker").agg(
        first=("t_read", "min"), last=("t_grad_done", "max"), n=("tau", "size")
    )
    return (spans["last"] - spans["first"]).to_numpy(dtype=np.float64) / spans["n"].to_numpy(dtype=np.float64)


def _straggler(n: int, factor: float) -> npt.NDArray[np.float64]:
    out = np.ones(n)
    out[-1] = factor
    return out


#: Speed pattern name -> the factors of ``n`` workers (``arg``: the pattern's number).
SPEED_PATTERNS: dict[str, Callable[[int, float | None], npt.NDArray[np.float64]]] = {
    "equal": lambda n, a: np.ones(n),
    "linear": lambda n, a: np.arange(1.0, n + 1),
    "quadratic": lambda n, a: np.arange(1.0, n + 1) ** 2,
    "straggler": lambda n, a: _straggler(n, 10.0 if a is None else a),
    "random": lambda n, a: 1.0 + np.random.default_rng(0 if a is None else int(a)).exponential(1.0, n),
}


def speed_pattern(spec: str, workers: int) -> npt.NDArray[np.float64]:
    """Slowdown factors of ``workers`` workers from ``NAME`` or ``NAME:X``: ``equal``,
    ``linear`` (``1..n``), ``quadratic`` (``1..n^2``), ``straggler:X`` (the last ``X`` times
    slower, 10 by default), ``random:SEED`` (``1 + Exp(1)``, seed 0 by default).

    >>> speed_pattern("straggler:4", 3).tolist()
    [1.0, 1.0, 4.0]
    """
    name, _, arg = spec.partition(":")
    if name not in SPEED_PATTERNS:
        raise ValueError(
            f"speed pattern must be one of {', '.join(SPEED_PATTERNS)} (NAME or NAME:X), got {spec!r}"
        )
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    try:
        value = float(arg) if arg else None
    except ValueError:
        raise ValueError(f"the number after {name}: must be a number, got {arg!r}") from None
    if value is not None and not (math.isfinite(value) and value >= (0 if name == "random" else 1)):
        raise ValueError(f"{spec!r}: the number must be finite and >= {0 if name == 'random' else 1}")
    return np.asarray(SPEED_PATTERNS[name](workers, value), dtype=np.float64)
