"""The random durations of one simulated execution, shared by both engines.

Each phase (compute, read, publish) has one random stream for all workers, drawn in
blocks of ``rows x workers`` (:class:`~staleness_sim.timing.PhaseDraws`); a worker's
speed factor scales its gradients' column (the fixed computation model's ``tau_i``: a slow
worker's gradients take longer, its reads and publishes do not), its NUMA factor scales its
memory phases, and the gradients of all workers take the profile's contention factor for
that many busy cores, and their publishes its publish contention factor. The block
height is what the busiest worker is expected to need, so a vectorized engine usually
draws one block per phase and an event loop never holds much more than that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from staleness_sim.profile import HardwareProfile
from staleness_sim.timing import Constant, PhaseDraws, Sampler

__all__ = ["Durations", "WorkerTiming", "coupling_stream", "expected_draws", "slice_stream"]

#: Largest block (rows x workers) drawn at once: 2**21 float64 values, 16 MiB.
MAX_BLOCK = 2**21


@dataclass(frozen=True)
class WorkerTiming:
    """Duration samplers of one worker (its speed factor already applied)."""

    compute: Sampler
    read: Sampler
    publish: Sampler
    memory: float  # seconds to copy or apply one full vector, NUMA factor applied
    cached: Sampler | None = None  # a first publish attempt on the version the worker read
    retry: Sampler | None = None  # a publish attempt after a failed one

    def attempt(self, first: bool, on_read_version: bool) -> float:
        """A publish attempt's duration (Leashed-SGD): the profile's ``publish_retry`` after a
        failed attempt, ``publish_cached`` for a first attempt that builds on the version the
        worker read (the vector its gradient just ran through, in its core's cache), else
        ``publish``; a phase the profile leaves out takes ``publish``."""
        if not first and self.retry is not None:
            return self.retry()
        if first and on_read_version and self.cached is not None:
            return self.cached()
        return self.publish()


def expected_draws(profile: HardwareProfile, workers: int, gradients: int) -> int:
    """Durations per phase the fastest worker needs for ``gradients`` in all, with a margin.

    Workers run at rates ``1 / speed_i``, so the fastest computes a share
    ``gradients * max_rate / sum_rates``; the margin (2% plus six standard deviations of a
    Poisson count, plus 16) makes running out rare.
    """
    rates = 1.0 / profile.speeds(workers)
    share = gradients * float(rates.max() / rates.sum())
    return int(share * 1.02 + 6 * math.sqrt(share)) + 16


#: The phases drawn from the run's seed, in the order of its SeedSequence's children.
PHASES = ("compute", "read", "publish")


#: The run's streams beyond the phases', by the child of its SeedSequence each one is.
_STREAMS = {
    "coupling": len(PHASES),
    "slices": len(PHASES) + 1,
    "publish_cached": len(PHASES) + 2,
    "publish_retry": len(PHASES) + 3,
}


def _stream(seed: int, name: str) -> np.random.Generator:
    """A child of the run's SeedSequence after the phases' ones, so that the phases' draws do
    not change with it."""
    k = _STREAMS[name]
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(k + 1)[k])


def coupling_stream(seed: int) -> np.random.Generator:
    """The run's stream for what workers decide together rather than draw alone (HOGWILD!'s
    convoy order and paired gradients, :mod:`staleness_sim.mechanisms.hogwild`)."""
    return _stream(seed, "coupling")


def slice_stream(seed: int) -> np.random.Generator:
    """The run's stream for the time slices of time-shared cores (the profile's ``slices``)."""
    return _stream(seed, "slices")


@dataclass(frozen=True)
class Durations:
    """The compute, read and publish durations of every worker, and their memory costs;
    Leashed-SGD's cached and retried publish attempts where the profile has them (their own
    streams, so that the other phases' draws do not change with them)."""

    compute: PhaseDraws
    read: PhaseDraws
    publish: PhaseDraws
    memory: npt.NDArray[np.float64]  # per worker: copy_time times the NUMA factor
    cached: PhaseDraws | None = None
    retry: PhaseDraws | None = None

    @classmethod
    def draw(cls, profile: HardwareProfile, workers: int, gradients: int, seed: int) -> Durations:
        """The durations of a run of ``gradients`` with ``workers`` under ``seed``."""
        speed = profile.speeds(workers)
        mem = profile.memory_factors(workers)
        written = mem * profile.publish_contention_factor(workers)  # a publish's memory costs
        rows = max(1, min(expected_draws(profile, workers, gradients), MAX_BLOCK // workers))
        models = tuple(getattr(profile, phase) for phase in PHASES)
        seqs = np.random.SeedSequence(seed).spawn(len(models))
        rngs = [
            None if isinstance(m, Constant) else np.random.default_rng(s)  # constants draw nothing
            for m, s in zip(models, seqs, strict=True)
        ]
        attempts = {}
        for name in ("publish_cached", "publish_retry"):
            model = getattr(profile, name)
            rng = None if model is None or isinstance(model, Constant) else _stream(seed, name)
            attempts[name] = None if model is None else PhaseDraws(model, rng, written, rows)
        return cls(
            compute=PhaseDraws(profile.compute, rngs[0], speed * profile.contention_factor(workers), rows),
            read=PhaseDraws(profile.read, rngs[1], mem, rows),
            publish=PhaseDraws(profile.publish, rngs[2], written, rows),
            memory=profile.copy_time * mem,
            cached=attempts["publish_cached"],
            retry=attempts["publish_retry"],
        )

    def worker(self, i: int) -> WorkerTiming:
        """Worker ``i``'s samplers."""
        return WorkerTiming(
            self.compute.sampler(i),
            self.read.sampler(i),
            self.publish.sampler(i),
            float(self.memory[i]),
            None if self.cached is None else self.cached.sampler(i),
            None if self.retry is None else self.retry.sampler(i),
        )
