"""Hardware profiles: the timing and cost model of a (hypothetical) machine.

A profile is a TOML file with one ``[profile]`` table::

    [profile]
    name = "workstation-16"
    cores = 16                       # workers > cores time-share the cores
    sockets = 1
    compute = "gamma:a=16,scale=2.36e-5"   # gradient time, seconds (scipy.stats or const:)
    read = "const:0"                 # extra time to read the parameters
    publish = "const:0"              # extra time to publish an update
    publish_cached = "const:5e-6"    # Leashed-SGD: optional, a first attempt on the version read
    publish_retry = "const:1.6e-5"   # Leashed-SGD: optional, an attempt after a failed one
    dim = 101770                     # parameters; a copy costs dim * bytes_per_param / bandwidth
    bytes_per_param = 8
    bandwidth_gbs = 40.0
    lock_handoff = 1e-6              # seconds a worker sleeping on the lock takes to wake up
    lock_policy = "barging"          # or "fifo": who gets a released lock (mechanisms/mutex.py)
    cas_latency = 1e-7               # seconds per compare-and-swap
    cas_window = 1.0                 # fraction of a publish attempt exposed to other publishes
    numa_penalty = 1.0               # memory-cost factor for workers off socket 0
    speed = [1.0]                    # per-worker gradient-time factors, cycled over workers
    contention = [1.0, 1.15]         # gradient-time factor with k cores computing (entry k - 1)
    publish_contention = [1.0, 1.5]  # publish-time factor with k cores writing the vector
    quantum = 0.003                  # optional OS time slice when workers > cores (seconds)
    slices = "uniform:loc=0.001,scale=0.004"  # optional: each time slice drawn from this
    gil = false                      # interpreted phases hold one interpreter lock
    gil_handoff = 4e-5               # seconds a thread waiting for that lock takes to wake up
    interpreted = 1.4e-5             # lock-based: interpreted seconds per gradient outside the mutex
    lost_on_overlap = 0.02           # HOGWILD!: fraction of an update lost when two writes overlap
    convoy = 4e-6                    # HOGWILD!: seconds of an uncontended publish; 0: no convoy
    convoy_reversed = 0.2            # HOGWILD!: share of convoy publishes that end just before
    paired_window = 2e-5             # HOGWILD!: a gradient begun this soon after another's is paired
    paired_ratio = "const:1"         # HOGWILD!: a paired gradient's time over the first one's
    stall = 7e-6                     # Leashed-SGD: seconds a gradient loses to a publish near its start
    stall_window = 1.2e-5            # Leashed-SGD: how near its start (seconds)

``interpreted`` (lock-based workers) is the interpreted code of each gradient outside the
mutex (the loop's bookkeeping and the step between compiled kernels), run half before the
worker asks for the mutex to read and half after its gradient, under the GIL when ``gil``;
the copy and the update under the mutex are compiled kernels that run without the GIL.

``lost_on_overlap`` is not timing: it is the fraction of a HOGWILD! update's coordinates lost
when its write overlaps another worker's, which the replay of ``real_exec.study.predict`` applies
(the simulated schedule says which writes overlap); ``real_exec.study.predict.lost_updates``
measures it. The simulator's timing ignores it.

``convoy`` (HOGWILD!) is how publishes that meet behave: writing
the same vector's cache lines in the same order, a publish that begins while another
worker's is under way (begun at ``s0``, ending at ``e0``) follows it and ends with it, plus
the lines that the first had written before it began, uncontended:
``end = e0 + convoy * (s - s0) / (e0 - s0)``, whatever its own drawn time. The workers then
start their next gradients together, which is why real HOGWILD! threads on short gradients
run in step and see less staleness than independent workers would
(``theory.analysis.coupling``). With a convoy, the read phase is the loop's work before
the version is read (a calibrated profile's gap), so the version is sampled after it. 0
(the default): every publish takes its own drawn time. Where workers time-share the
cores, the publish's extension is time on the core, like the rest of the publish.
``real_exec.study.calibrate`` measures it. Two writes that end together end in either
order: ``convoy_reversed`` is the share of the publishes begun under another's that end
*before* it, by the same lag (``end = e0 - convoy * (s - s0) / (e0 - s0)``, not before
``s``); which one is drawn from the run's own stream (:func:`staleness_sim.durations.coupling_stream`).

``paired_window`` and ``paired_ratio`` (HOGWILD!, with a convoy; on time-shared cores, time
on a core): two workers released together by a convoy start their next gradients a few
microseconds apart, and the later one rarely finishes first. A gradient begun within
``paired_window`` seconds after another worker's (one not itself paired) began takes that
gradient's drawn time times a ``paired_ratio`` draw times the two workers' speed ratio
(``speed[i] / speed[j]``), instead of its own draw; so the worker that led a convoy tends to
lead the next one, which decides the staleness (the leader of two consecutive convoys sees
one update, one that loses the lead two, one that takes it none). 0 (the default): no
pairing. ``real_exec.study.calibrate`` measures both from the gradients that began
together.

``publish_cached`` and ``publish_retry`` (Leashed-SGD, optional): a publish attempt builds
the new vector from the latest one. A first attempt whose latest is still the version the
worker read builds from the vector its gradient has just run through, in its core's cache,
and takes a ``publish_cached`` draw; an attempt after a failed one builds from a vector
another core has just written and met that core's publish, and takes a ``publish_retry``
draw; every other attempt (a first one on a newer version) takes ``publish``. Left out
(the default), an attempt takes ``publish`` in every case. ``real_exec.study.calibrate``
measures them where each worker has a core (docs/validation.md, "Where a Leashed-SGD
publish builds").

``stall`` and ``stall_window`` (Leashed-SGD; on time-shared cores, time on a core): a gradient that
begins while another worker is publishing, or during whose first ``stall_window`` seconds
another worker begins a publish, takes ``stall`` seconds longer than its draw (once, however
many publishes it meets; times the worker's ``speed``, as the rest of its gradient). Real
Leashed-SGD threads on short gradients do this, and it holds their publishes about one
publish apart, where their CAS attempts meet (docs/validation.md,
"What Leashed-SGD does"); without it the simulated workers drift half a cycle apart and fail
fewer attempts. 0 (the default): none. ``real_exec.study.calibrate`` measures both.

``contention`` models what cores computing at the same time do to each other (shared caches,
memory bandwidth, cores shared by hyper-threads): with ``w`` workers on ``c`` cores, every
gradient takes ``contention[k - 1]`` times its ``compute`` draw, ``k = min(w, c)`` (the last
entry beyond the list). Calibrated profiles express it relative to their calibration run, so
the entry of the calibration's thread count is 1; ``real_exec.study.contention`` measures it.
``publish_contention`` is the same for every publish attempt (``publish``, ``publish_cached``,
``publish_retry``): a publish writes the vector that the workers on the other busy cores
write too, so its cache lines come from their caches rather than its own, which a
calibration on one thread cannot contain (``real_exec.study.contention`` measures it too).

``quantum`` (seconds; where workers outnumber the cores) turns on the run queues of
:mod:`staleness_sim.run_queues`: a worker keeps its core for a slice of that length, then
waits behind the workers queued for that core. Real slices vary (the scheduler's slice
depends on the threads runnable, and a spent slice ends only at a timer tick or a system
call); ``slices``, when given, draws each slice from that timing model instead, from the
run's own stream for slices (:func:`staleness_sim.durations.slice_stream`; at least a
microsecond). Calibrated profiles take the slices the run's workers got
(``real_exec.study.time_slice``).

Unknown keys and out-of-range values are rejected with the key's name.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from staleness_sim.timing import Constant, describe, parse_timing
from theory.distribution import Distribution

__all__ = ["LOCK_POLICIES", "PROFILE_OPTIONS", "HardwareProfile", "load_profile", "shipped_profiles"]

#: How a released mutex is handed on (:mod:`staleness_sim.mechanisms.mutex`); the first is the
#: default.
LOCK_POLICIES: tuple[str, ...] = ("barging", "fifo")

#: The profile fields that ``asgd simulate`` options and sweep cells set directly.
PROFILE_OPTIONS: tuple[str, ...] = ("cores", "compute", "read", "publish", "lock_policy")


@dataclass(frozen=True)
class HardwareProfile:
    """Timing and cost model of a machine; see the module docstring for the fields."""

    name: str = "default"
    cores: int | None = None
    sockets: int = 1
    compute: Distribution = field(default_factory=lambda: parse_timing("expon:scale=1"))
    read: Distribution = field(default_factory=lambda: Constant(0.0))
    publish: Distribution = field(default_factory=lambda: Constant(0.0))
    publish_cached: Distribution | None = None
    publish_retry: Distribution | None = None
    dim: int = 0
    bytes_per_param: int = 8
    bandwidth_gbs: float = 10.0
    lock_handoff: float = 0.0
    lock_policy: str = "barging"
    cas_latency: float = 0.0
    cas_window: float = 1.0
    numa_penalty: float = 1.0
    speed: tuple[float, ...] = (1.0,)
    contention: tuple[float, ...] = (1.0,)
    publish_contention: tuple[float, ...] = (1.0,)
    quantum: float | None = None
    slices: Distribution | None = None
    gil: bool = False
    gil_handoff: float = 0.0
    interpreted: float = 0.0
    lost_on_overlap: float = 0.0
    convoy: float = 0.0
    convoy_reversed: float = 0.0
    paired_window: float = 0.0
    paired_ratio: Distribution = field(default_factory=lambda: Constant(1.0))
    stall: float = 0.0
    stall_window: float = 0.0
    description: str = ""

    def __post_init__(self) -> None:
        def need(ok: bool, key: str, accepted: str, value: Any) -> None:
            if not ok:
                raise ValueError(f"profile field {key!r} must be {accepted}, got {value!r}")

        need(
            self.cores is None or (isinstance(self.cores, int) and self.cores >= 1),
            "cores",
            "an integer >= 1",
            self.cores,
        )
        need(isinstance(self.sockets, int) and self.sockets >= 1, "sockets", "an integer >= 1", self.sockets)
        need(isinstance(self.dim, int) and self.dim >= 0, "dim", "an integer >= 0", self.dim)
        need(
            isinstance(self.bytes_per_param, int) and self.bytes_per_param >= 1,
            "bytes_per_param",
            "an integer >= 1",
            self.bytes_per_param,
        )
        for key in ("bandwidth_gbs",):
            v = getattr(self, key)
            need(isinstance(v, int | float) and math.isfinite(v) and v > 0, key, "a number > 0", v)
        for key in (
            "lock_handoff",
            "cas_latency",
            "gil_handoff",
            "interpreted",
            "convoy",
            "paired_window",
            "stall",
            "stall_window",
        ):
            v = getattr(self, key)
            need(isinstance(v, int | float) and math.isfinite(v) and v >= 0, key, "a number >= 0", v)
        for key in ("lost_on_overlap", "convoy_reversed"):
            v = getattr(self, key)
            need(isinstance(v, int | float) and 0 <= v <= 1, key, "a number in [0, 1]", v)
        need(
            isinstance(self.numa_penalty, int | float)
            and math.isfinite(self.numa_penalty)
            and self.numa_penalty >= 1,
            "numa_penalty",
            "a number >= 1",
            self.numa_penalty,
        )
        for key in _LISTS:
            values = getattr(self, key)
            need(
                len(values) >= 1
                and all(isinstance(v, int | float) and math.isfinite(v) and v > 0 for v in values),
                key,
                "a non-empty list of numbers > 0",
                list(values),
            )

    @property
    def copy_time(self) -> float:
        """Seconds to copy (or apply into) a full parameter vector."""
        return self.dim * self.bytes_per_param / (self.bandwidth_gbs * 1e9)

    def speeds(self, workers: int) -> npt.NDArray[np.float64]:
        """Every worker's slowdown factor (the ``speed`` list cycled over the workers)."""
        return np.resize(np.asarray(self.speed, dtype=np.float64), workers)

    def contention_factor(self, workers: int) -> float:
        """The gradient-time factor of ``workers`` workers: ``contention[k - 1]`` with
        ``k = min(workers, cores)`` busy cores, the last entry where the list is shorter."""
        return self._busy_entry(self.contention, workers)

    def publish_contention_factor(self, workers: int) -> float:
        """The publish-time factor of ``workers`` workers: ``publish_contention[k - 1]``, ``k``
        as in :meth:`contention_factor`."""
        return self._busy_entry(self.publish_contention, workers)

    def _busy_entry(self, factors: tuple[float, ...], workers: int) -> float:
        """``factors[k - 1]`` with ``k = min(workers, cores)``, the last entry beyond the list."""
        busy = min(workers, self.cores or workers)
        return float(factors[min(busy, len(factors)) - 1])

    def gradient_times(self, workers: int) -> npt.NDArray[np.float64]:
        """Each worker's mean seconds per gradient, the fixed computation model's ``tau_i``:
        the mean ``compute`` time times its ``speed``, the contention factor and, with more
        workers than cores, ``workers / cores`` (time-sharing)."""
        share = max(1.0, workers / self.cores) if self.cores else 1.0
        mean = float(self.compute.mean()) * self.contention_factor(workers) * share
        return mean * self.speeds(workers)

    def memory_factors(self, workers: int) -> npt.NDArray[np.float64]:
        """NUMA factor of each worker: workers are spread evenly over sockets; socket 0 holds
        the parameters, the others pay ``numa_penalty`` on memory costs."""
        cores = self.cores or workers
        per_socket = max(1, math.ceil(cores / self.sockets))
        socket = (np.arange(workers) % cores) // per_socket
        return np.where(socket == 0, 1.0, float(self.numa_penalty))

    def with_overrides(self, **changes: Any) -> HardwareProfile:
        """A copy with fields replaced (timing strings are parsed); ``None`` values are ignored."""
        clean = {k: v for k, v in changes.items() if v is not None}
        return _from_mapping(clean, base=self)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (timing models as ``NAME:k=v`` strings), as in a TOML file."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in _TIMINGS and v is not None:
                v = describe(v)
            out[f.name] = list(v) if f.name in _LISTS else v
        return out


_TIMINGS = ("compute", "read", "publish", "publish_cached", "publish_retry", "paired_ratio", "slices")
_LISTS = ("speed", "contention", "publish_contention")


def _from_mapping(data: dict[str, Any], base: HardwareProfile | None = None) -> HardwareProfile:
    known = {f.name for f in fields(HardwareProfile)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"unknown profile field(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    values = dict(data)
    for key in _TIMINGS:
        if key in values and values[key] is not None and not hasattr(values[key], "rvs"):
            try:
                values[key] = parse_timing(values[key])
            except ValueError as exc:
                raise ValueError(f"profile field {key!r}: {exc}") from None
    for key in _LISTS:
        if key in values:
            v = values[key]
            values[key] = tuple(v) if isinstance(v, list | tuple) else (v,)
    return replace(base, **values) if base is not None else HardwareProfile(**values)


def load_profile(source: str | Path) -> HardwareProfile:
    """Load a profile from a TOML file, or a shipped profile by name (see :func:`shipped_profiles`)."""
    path = Path(source)
    if not path.exists():
        names = shipped_profiles()
        if str(source) in names:
            text = resources.files("staleness_sim.profiles").joinpath(f"{source}.toml").read_text()
        else:
            raise ValueError(f"profile {source!r} is neither a file nor one of: {', '.join(names)}")
    else:
        text = path.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"profile {source}: invalid TOML: {exc}") from None
    if set(data) != {"profile"} or not isinstance(data["profile"], dict):
        raise ValueError(f"profile {source}: expected exactly one [profile] table")
    return _from_mapping(data["profile"])


def shipped_profiles() -> list[str]:
    """Names of the profiles that come with the package."""
    folder = resources.files("staleness_sim.profiles")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))
