"""What to run for real: algorithm, threads, step size, length, seed, instrumentation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from staleness_sim.config import ALGORITHMS

__all__ = ["ALGORITHMS", "RunConfig"]


@dataclass(frozen=True)
class RunConfig:
    """One real run: ``algo`` with ``threads`` threads and step ``eta`` (eta0), stopped after
    ``gradients`` computed gradients or ``seconds`` of wall time (exactly one of the two).

    ``rule`` is a step-size rule of :data:`theory.spec.RULES`; TAIL-tau and MindTheStep take
    their staleness pmf from the first ``warmup`` updates. ``check_updates`` keeps the sums
    of applied steps for the lost-update check; ``record`` keeps the Trace (off: only counts,
    to measure what recording costs); ``sample_every`` is the loss sampling interval (s).
    """

    algo: str
    threads: int
    eta: float
    gradients: int | None = None
    seconds: float | None = None
    rule: str = "constant"
    persistence: int | None = None
    seed: int = 0
    warmup: int = 200
    check_updates: bool = True
    record: bool = True
    sample_every: float | None = None

    def __post_init__(self) -> None:
        if self.algo not in ALGORITHMS:
            raise ValueError(f"algo must be one of {', '.join(ALGORITHMS)}, got {self.algo!r}")
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        if (self.gradients is None) == (self.seconds is None):
            raise ValueError("give exactly one of gradients and seconds")
        if self.gradients is not None and self.gradients < 1:
            raise ValueError(f"gradients must be >= 1, got {self.gradients}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"seconds must be > 0, got {self.seconds}")
        if not (np.isfinite(self.eta) and self.eta > 0):
            raise ValueError(f"eta must be a finite number > 0, got {self.eta}")
        if self.persistence is not None and self.persistence < 1:
            raise ValueError(f"persistence must be >= 1, got {self.persistence}")
