"""What to run for real: algorithm, threads, step size, length, seed, instrumentation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from theory.algorithms import ALGORITHMS, check_algorithm
from theory.rennala import check_step_batch, step_batch
from theory.spec import check_rule

__all__ = ["ALGORITHMS", "SLOW_MODES", "RunConfig", "check_speeds"]

#: Where a slow worker spends its extra time (:class:`RunConfig`).
SLOW_MODES = ("spin", "sleep")


def check_speeds(speeds: Any) -> tuple[float, ...]:
    """``speeds`` as a tuple of finite factors >= 1 (a ``ValueError`` naming the first bad
    value otherwise): a worker can be made slower, not faster than the machine."""
    values = tuple(speeds)
    if not values:
        raise ValueError("speeds must list at least one factor")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not (np.isfinite(v) and v >= 1.0):
            raise ValueError(f"speeds must be finite numbers >= 1 (1: full speed), got {v!r}")
    return tuple(float(v) for v in values)


@dataclass(frozen=True)
class RunConfig:
    """One real run: ``algo`` with ``threads`` threads and step ``eta`` (eta0), stopped after
    ``gradients`` computed gradients, ``seconds`` of wall time or ``epochs`` passes over the
    training set (exactly one of the three; an epoch is ``ceil(samples / batch)`` gradients).

    ``momentum`` is heavy-ball momentum ``beta``: each worker keeps its own velocity
    ``v = beta v + g`` and applies ``v`` where it would apply ``g`` (as in the papers' code).

    ``rule`` is a step-size rule of :data:`theory.spec.RULES`; TAIL-tau and MindTheStep take
    their staleness pmf from a warm-up: the ``warmup`` updates after the first
    ``warmup_skip`` (default, the authors' setting for ``m`` threads: skip ``10 m``, take
    ``5 m``), running at ``eta`` until then. ``amplitude`` is TAIL-tau's (default 1, the
    authors'). ``check_updates`` keeps the sums
    of applied steps for the lost-update check; ``record`` keeps the Trace (off: only counts,
    to measure what recording costs); ``sample_every`` is the loss sampling interval (s;
    ``math.inf``: only at the start and the end, the main thread evaluating nothing while the
    workers run).

    ``speeds`` are the workers' slowdown factors, cycled over the threads (as a hardware
    profile's ``speed``): each gradient of thread ``i`` takes ``speeds[i]`` times as long as
    it would. ``slow_mode`` says where the extra time goes: ``"spin"`` computes on the core
    (a slower core: the thread's CPU time grows by the factor), ``"sleep"`` waits off the
    core (a worker that waits on something else: a device, a network).

    ``step_batch`` is Rennala SGD's ``S``, the gradients averaged into one step (default: the
    threads); ``threshold`` the ``ringmaster`` rule's ``R`` (default: the threads).
    """

    algo: str
    threads: int
    eta: float
    gradients: int | None = None
    seconds: float | None = None
    rule: str = "constant"
    persistence: int | None = None
    seed: int = 0
    warmup: int | None = None
    warmup_skip: int | None = None
    amplitude: float = 1.0
    check_updates: bool = True
    record: bool = True
    sample_every: float | None = None
    epochs: float | None = None
    momentum: float = 0.0
    speeds: tuple[float, ...] = (1.0,)
    slow_mode: str = "spin"
    step_batch: int | None = None
    threshold: int | None = None

    @property
    def discard_at(self) -> int | None:
        """Ringmaster ASGD's ``R`` where a gradient of delay ``>= R`` is thrown away rather
        than applied with a zero step: the ``ringmaster`` rule with lock-based SGD, whose
        version then does not move (as in the paper and the simulator's ``threshold``).
        ``None`` otherwise (with the other algorithms the rule is the step size
        ``s(tau) = 0`` at ``tau >= R``)."""
        if self.rule != "ringmaster" or self.algo != "lock":
            return None
        return self.threshold if self.threshold is not None else self.threads

    @property
    def batch(self) -> int:
        """Rennala SGD's ``S`` in use (:func:`theory.rennala.step_batch`: the threads by default)."""
        return step_batch(self.step_batch, self.threads)

    def worker_speeds(self) -> tuple[float, ...]:
        """Every thread's slowdown factor (``speeds`` cycled over the threads)."""
        return tuple(float(self.speeds[i % len(self.speeds)]) for i in range(self.threads))

    @property
    def warmup_window(self) -> tuple[int, int]:
        """``(skip, take)``: updates skipped, then updates whose staleness forms the warm-up pmf."""
        skip = self.warmup_skip if self.warmup_skip is not None else 10 * self.threads
        take = self.warmup if self.warmup is not None else 5 * self.threads
        return skip, take

    def step_scale(self, pmf: Any, size: int) -> npt.NDArray[np.float64]:
        """``s(tau)`` of this run's rule for ``tau = 0 .. size - 1`` (the staleness ``pmf``
        from the warm-up where the rule needs one; FLeet takes ``m = threads``)."""
        from theory.spec import make_rule

        s = make_rule(
            self.rule, pmf, workers=self.threads, amplitude=self.amplitude, threshold=self.threshold
        )
        return np.asarray(s(np.arange(size)), dtype=np.float64)

    def __post_init__(self) -> None:
        check_algorithm(self.algo)
        check_rule(self.rule)
        check_step_batch(self.step_batch)
        if self.step_batch is not None and self.algo != "rennala":
            raise ValueError(f"only Rennala SGD has a step batch, not algo {self.algo!r}")
        if self.threshold is not None and (self.rule != "ringmaster" or self.threshold < 1):
            raise ValueError(f"a threshold R >= 1 goes with the ringmaster rule, got R = {self.threshold}")
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        if sum(v is not None for v in (self.gradients, self.seconds, self.epochs)) != 1:
            raise ValueError("give exactly one of gradients, seconds and epochs")
        if self.epochs is not None and not (np.isfinite(self.epochs) and self.epochs > 0):
            raise ValueError(f"epochs must be a finite number > 0, got {self.epochs}")
        if self.warmup is not None and self.warmup < 1:
            raise ValueError(f"warmup must be >= 1, got {self.warmup}")
        if self.warmup_skip is not None and self.warmup_skip < 0:
            raise ValueError(f"warmup_skip must be >= 0, got {self.warmup_skip}")
        if not (np.isfinite(self.amplitude) and 0.0 <= self.amplitude <= 1.0):
            raise ValueError(f"amplitude must be in [0, 1], got {self.amplitude}")
        if not (np.isfinite(self.momentum) and 0.0 <= self.momentum < 1.0):
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.gradients is not None and self.gradients < 1:
            raise ValueError(f"gradients must be >= 1, got {self.gradients}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"seconds must be > 0, got {self.seconds}")
        if not (np.isfinite(self.eta) and self.eta > 0):
            raise ValueError(f"eta must be a finite number > 0, got {self.eta}")
        object.__setattr__(self, "speeds", check_speeds(self.speeds))
        if self.slow_mode not in SLOW_MODES:
            raise ValueError(f"slow_mode must be one of {', '.join(SLOW_MODES)}, got {self.slow_mode!r}")
        if self.persistence is not None and self.persistence < 1:
            raise ValueError(f"persistence must be >= 1, got {self.persistence}")
